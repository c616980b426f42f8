// arkroute-sim's HTTP side on libevent's evhttp: the OpenAI Images endpoint with latency, SSE
// streaming and fault injection (x-sim-fault; with x-sim-fault-times: N only the first N such
// requests fail, counted per x-sim-fault-id), Kling's task API under /kling (sim_kling.h), image
// URLs, and the /_sim/stats, /_sim/reset and /_sim/last-request endpoints tests read.
// Single-threaded; plain HTTP or TLS.
#pragma once

#include <event2/event.h>
#include <event2/http.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/sim/sim_images.h"
#include "tests/sim/sim_kling_jwt.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace arkroute::sim {

struct SimOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  int latency_ms = 0;
  int jitter_ms = 0;
  size_t payload_bytes = 1400000;
  std::string tls_cert, tls_key;
  KlingKeys kling;  // --kling-access-key, --kling-secret-key
};

struct PendingRequest;
class KlingApi;

class SimServer {
 public:
  SimServer(event_base* base, SimOptions options);
  ~SimServer();
  bool start(std::string* error);
  uint16_t port() const { return port_; }
  std::string url() const;
  // "127.0.0.1:8081" or "[::1]:8081".
  std::string hostPort() const;

  // Used by pending requests and the Kling API.
  event_base* base() const { return base_; }
  ImageFactory& images() { return images_; }
  void finished(PendingRequest* pending);
  int latencyFor(evhttp_request* req);
  // A request answered later (counted in flight); the caller calls begin() on it.
  PendingRequest* newPending(evhttp_request* req, ImageParams params, std::string fault,
                             std::vector<std::string> urls);
  // The request's x-sim-fault, or nullptr when absent or its x-sim-fault-times are used up.
  const char* activeFault(evhttp_request* req);
  // The URL (scheme of this server, host from the request's Host) serving the image `key` names.
  std::string imageUrl(evhttp_request* req, const std::string& key);
  // Keeps req (headers) and body for GET /_sim/last-request.
  void rememberRequest(evhttp_request* req, const std::string& path, const std::string& body);

 private:
  static void onRequest(evhttp_request* req, void* arg);
  static bufferevent* onNewConnection(event_base* base, void* arg);
  void route(evhttp_request* req, const std::string& path);
  void handleGeneration(evhttp_request* req, const std::string& path);
  void handleImage(evhttp_request* req, const std::string& path);
  void sendStats(evhttp_request* req);
  std::string lastRequestJson() const;
  std::vector<std::string> imageUrls(evhttp_request* req, const ImageParams& params);

  event_base* base_;
  SimOptions options_;
  evhttp* http_ = nullptr;
  SSL_CTX* ssl_ctx_ = nullptr;
  uint16_t port_ = 0;
  ImageFactory images_;
  std::mt19937 jitter_rng_{42};
  std::map<std::string, uint64_t> requests_;
  // x-sim-fault-times: faults already injected per (fault, times, x-sim-fault-id).
  std::map<std::string, int> faults_injected_;
  std::set<std::string> flaky_failed_;  // kling-images-flaky image ids that failed once
  int max_in_flight_ = 0;               // highest concurrent generations seen (GET /_sim/stats)
  uint64_t connections_ = 0;
  int64_t in_flight_ = 0;
  // The last generation request, kept raw and formatted only when /_sim/last-request asks: building
  // JSON per request cost the simulator ~1 µs per forwarded header, which made a benchmarked proxy
  // that forwards one more header look slower than it is. The strings keep their capacity.
  struct RecordedRequest {
    bool present = false;
    std::string path, body;
    std::vector<std::pair<std::string, std::string>> headers;
    size_t header_count = 0;
  } last_request_;
  std::map<std::string, std::string> image_keys_;  // url id → image key
  std::unique_ptr<KlingApi> kling_;
};

// Sends body with status and Content-Type.
void sendBody(evhttp_request* req, int status, const char* content_type, const std::string& body);
// The request's body.
std::string requestBody(evhttp_request* req);

// Sends an OpenAI-style JSON error with extra headers.
void sendJsonError(evhttp_request* req, int status, const std::string& type,
                   const std::string& code, const std::string& message);

}  // namespace arkroute::sim
