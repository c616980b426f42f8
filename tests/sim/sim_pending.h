// One images request the simulator answers later: after its latency, as timed SSE events, as a
// slow drip, or by failing on purpose (x-sim-fault); or, for Kling, with a prepared answer after
// its latency. Watches its connection so a client that goes away frees it, and reports to the
// server when done.
#pragma once

#include <event2/event.h>
#include <event2/http.h>

#include <string>
#include <vector>

#include "tests/sim/sim_images.h"

namespace arkroute::sim {

class SimServer;

struct PendingRequest {
  PendingRequest(SimServer& server, evhttp_request* req, ImageParams params, std::string fault,
                 std::vector<std::string> urls);
  ~PendingRequest();
  void begin(int latency_ms);

  SimServer& server;
  evhttp_request* req;
  evhttp_connection* connection;
  ImageParams params;
  std::string fault;
  std::vector<std::string> urls;
  event* step_timer = nullptr;
  event* watch_timer = nullptr;
  std::vector<std::string> events;  // SSE events still to send
  std::string body;                 // drip / reset-mid-body payload
  size_t sent = 0;
  int interval_ms = 0;
  size_t drip_bytes = 1024;
  int reply_status = 0;    // non-zero: respond with this status and reply_body (JSON) instead
  std::string reply_body;  // of an images answer (Kling's prepared answers)

 private:
  static void onStep(evutil_socket_t, short, void* arg);
  static void onWatch(evutil_socket_t, short, void* arg);
  static void onClosed(evhttp_connection*, void* arg);
  void step();
  void respondNow();
  void startStream(int latency_ms);
  void startDrip();
  void startMidBodyReset();
  void resetConnection();
  void abandon();
  void done();
  void schedule(int ms);
};

}  // namespace arkroute::sim
