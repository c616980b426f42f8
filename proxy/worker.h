// One worker thread: its own event_base, DNS resolver, HTTP server (sharing the listening port
// with the other workers through SO_REUSEPORT) and one upstream connection pool per upstream.
// Requests accepted by a worker are handled entirely on its thread.
#pragma once

#include <event2/dns.h>
#include <event2/event.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http/server.h"
#include "proxy/http/upstream.h"
#include "proxy/loop_tasks.h"
#include "proxy/runtime.h"
#include "proxy/services.h"

namespace arkroute {

class McpService;

class Worker {
 public:
  Worker(size_t index, std::shared_ptr<const Runtime> runtime, Services& services);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds the listening socket (call before start()). Port 0 picks one; see boundPort().
  bool listen(const std::string& host, uint16_t port, bool reuse_port, std::string* error);
  uint16_t boundPort() const { return server_->boundPort(); }

  void start();  // runs the loop on a new thread
  // Thread-safe: stop accepting, let in-flight requests finish for up to drain_timeout, then
  // end the loop. join() waits for the thread.
  void beginDrain(std::chrono::milliseconds drain_timeout);
  void join();

  // For request handlers, on this worker's thread only.
  size_t index() const { return index_; }
  event_base* base() const { return base_; }
  const Runtime& runtime() const { return *runtime_; }
  std::shared_ptr<const Runtime> runtimeRef() const { return runtime_; }
  http::UpstreamPool& pool(size_t upstream_index) { return *pools_[upstream_index]; }
  LoopTasks& tasks() { return *tasks_; }
  Services& services() { return services_; }
  // This worker's MCP endpoint, built on first use; nullptr when [mcp] enabled = false.
  McpService* mcp();

 private:
  void handle(std::shared_ptr<http::Exchange> exchange);
  void drainTick();
  static void onDrainTimer(evutil_socket_t, short, void* arg);

  size_t index_;
  std::shared_ptr<const Runtime> runtime_;
  Services& services_;
  event_base* base_ = nullptr;
  evdns_base* dns_ = nullptr;
  std::unique_ptr<LoopTasks> tasks_;
  std::unique_ptr<http::HttpServer> server_;
  std::vector<std::unique_ptr<http::UpstreamPool>> pools_;
  std::unique_ptr<McpService> mcp_;
  std::thread thread_;
  event* drain_timer_ = nullptr;
  std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace arkroute
