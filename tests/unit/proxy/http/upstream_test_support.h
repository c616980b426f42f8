// Client-side helpers for the upstream client tests: an event loop that runs for a bounded time,
// a handler recording every callback, a loopback DNS server (libevent's evdns server), a resolver
// that never answers, and a test CA with leaf certificates made by the openssl CLI.
#pragma once

#include <event2/dns.h>
#include <event2/event.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "proxy/http/upstream.h"

struct evdns_server_port;

namespace arkroute::http::testing {

class EventLoop {
 public:
  EventLoop();  // the resolver has no nameservers until useNameserver()
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_; }
  evdns_base* dns() const { return dns_; }
  void useNameserver(uint16_t port);  // 127.0.0.1:port
  // Runs the loop until done() holds or limit passes; returns done().
  bool runUntil(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(5));
  void runFor(std::chrono::milliseconds duration);

 private:
  event_base* base_;
  evdns_base* dns_;
  event* ticker_;  // wakes the loop so runUntil() re-checks its condition
};

class RecordingHandler : public UpstreamResponseHandler {
 public:
  int status = 0;
  Headers headers;
  std::string body;
  int heads = 0;
  int body_calls = 0;
  bool completed = false;
  std::optional<UpstreamError> error;
  int callbacks_after_end = 0;  // must stay 0: nothing may follow complete or error
  // Run at the end of the matching callback, e.g. to pause, cancel or destroy the call.
  std::function<void()> on_head;
  std::function<void()> on_body;
  std::function<void()> on_complete;
  std::function<void()> on_error;

  bool finished() const { return completed || error.has_value(); }
  void onUpstreamHead(int status, const Headers& headers) override;
  void onUpstreamBody(evbuffer* data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(const UpstreamError& error) override;
};

// Answers A queries for the names it knows (case-insensitive), "no such name" for the rest.
class FakeDns {
 public:
  FakeDns(event_base* base, std::map<std::string, std::string> ipv4_by_name);
  ~FakeDns();
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;
  uint16_t port() const { return port_; }

 private:
  static void onRequest(struct evdns_server_request* request, void* arg);
  std::map<std::string, std::string> ipv4_by_name_;
  int fd_ = -1;
  uint16_t port_ = 0;
  evdns_server_port* server_ = nullptr;
};

// A bound loopback UDP port that reads nothing: a resolver that never answers.
class SilentUdpPort {
 public:
  SilentUdpPort();
  ~SilentUdpPort();
  SilentUdpPort(const SilentUdpPort&) = delete;
  SilentUdpPort& operator=(const SilentUdpPort&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct TestCerts {
  std::string ca_file;                        // the test CA that signed both leaves
  std::string localhost_cert, localhost_key;  // SAN DNS:localhost, IP:127.0.0.1
  std::string other_cert, other_key;          // SAN DNS:other.example
};
// Generated once per process into a temporary directory, removed at exit.
const TestCerts& testCerts();

uint16_t unusedPort();  // a loopback TCP port that nobody listens on
UpstreamEndpoint endpointFor(uint16_t port, std::string host = "127.0.0.1");
OutgoingRequest requestFor(std::string path, std::string method = "GET", std::string body = "");

}  // namespace arkroute::http::testing
