// The running gateway: the shared Runtime, the process-wide services (cache store, coalescer,
// clock) and the worker threads that serve them. Owns startup (open the store, bind every worker
// to the listen address) and graceful shutdown (drain, flush the store, join).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/cache_store.h"
#include "cache/coalescer.h"
#include "proxy/observability.h"
#include "proxy/runtime.h"
#include "proxy/services.h"
#include "proxy/worker.h"

namespace arkroute {

class Gateway {
 public:
  explicit Gateway(std::shared_ptr<const Config> config);
  ~Gateway();

  // Opens the cache, builds the runtime, binds all workers and starts their threads.
  // false + *error on failure.
  bool start(std::string* error);
  uint16_t port() const { return port_; }
  std::string listenUrl() const;
  // Stops accepting, lets in-flight requests finish (server.drain_timeout), flushes pending cache
  // writes and joins the threads.
  void drainAndStop();

 private:
  bool openCache(std::string* error);
  void sweepLoop();  // removes expired cache entries once a minute

  std::shared_ptr<const Config> config_;
  std::shared_ptr<const Runtime> runtime_;
  std::unique_ptr<cache::CacheStore> store_;
  std::unique_ptr<cache::Coalescer> coalescer_;
  Services services_;
  std::vector<std::unique_ptr<Worker>> workers_;
  uint16_t port_ = 0;
  std::thread sweeper_;
  std::mutex sweeper_mutex_;
  std::condition_variable sweeper_wake_;
  bool stopping_ = false;
  std::unique_ptr<Observability> observability_;  // metrics registry and access log
};

}  // namespace arkroute
