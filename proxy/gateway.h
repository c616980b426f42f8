// The running gateway: the shared Runtime and the worker threads that serve it. Owns startup
// (bind every worker to the listen address), and graceful shutdown (drain, then join).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/runtime.h"
#include "proxy/worker.h"

namespace arkroute {

class Gateway {
 public:
  explicit Gateway(std::shared_ptr<const Config> config);
  ~Gateway();

  // Builds the runtime, binds all workers and starts their threads. false + *error on failure.
  bool start(std::string* error);
  uint16_t port() const { return port_; }
  std::string listenUrl() const;
  // Stops accepting, lets in-flight requests finish (server.drain_timeout), joins the threads.
  void drainAndStop();

 private:
  std::shared_ptr<const Config> config_;
  std::shared_ptr<const Runtime> runtime_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint16_t port_ = 0;
};

}  // namespace arkroute
