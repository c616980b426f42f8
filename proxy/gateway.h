// The running gateway: the shared Runtime, the process-wide services (cache store, coalescer,
// clock) and the worker threads that serve them. Owns startup (open the store, bind every worker
// to the listen address), config reload (a new Runtime handed to every worker) and graceful
// shutdown (drain, flush the store, join).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/cache_store.h"
#include "cache/coalescer.h"
#include "cache/kv_table.h"
#include "cache/rocks_database.h"
#include "proxy/blocking_pool.h"
#include "proxy/key_limits.h"
#include "proxy/ledger.h"
#include "proxy/mcp/mcp_sessions.h"
#include "proxy/observability.h"
#include "proxy/runtime.h"
#include "proxy/services.h"
#include "proxy/upstream_gate.h"
#include "proxy/virtual_keys.h"
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
  // Serves new requests with config (already validated, its restart-only settings equal to the
  // running ones: see planReload). Requests in flight finish with the config they started with.
  // Returns once every worker has switched (or after a few seconds). false + *error when the
  // Runtime cannot be built; the running config then stays.
  bool reload(std::shared_ptr<const Config> config, std::string* error);
  // The config in force.
  std::shared_ptr<const Config> config() const { return config_; }
  // For the service watchdog: true when every worker's loop ran the probe queued by the
  // previous call (see Worker::pingLoop).
  bool workersResponsive();

 private:
  bool openState(std::string* error);  // the database: cache, ledger, keys
  bool openCache(std::string* error);
  void sweepLoop();  // removes expired cache entries once a minute

  std::shared_ptr<const Config> config_;
  std::shared_ptr<const Runtime> runtime_;
  std::shared_ptr<cache::RocksDatabase> database_;
  std::unique_ptr<cache::KeyValueTable> keys_table_;
  std::unique_ptr<cache::KeyValueTable> ledger_table_;
  std::unique_ptr<KeyRegistry> keys_;
  std::shared_ptr<Ledger> ledger_;
  KeyLimits key_limits_;
  std::unique_ptr<UpstreamGates> gates_;
  std::unique_ptr<cache::CacheStore> store_;
  std::unique_ptr<cache::Coalescer> coalescer_;
  std::unique_ptr<BlockingPool> blocking_;     // cache reads, ledger writes: off the event loops
  std::unique_ptr<BlockingPool> maintenance_;  // purges, key changes: off the loops and the reads
  std::unique_ptr<mcp::McpSessions> mcp_sessions_;
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
