// Process-wide services shared by every worker thread, owned by the Gateway and thread-safe: the
// cache store and the coalescer (both null when the cache is disabled) and the wall clock (in
// milliseconds since the epoch; injected so tests and TTL logic can control time), the observers
// the log phase reports every finished request to (ledger, metrics, access log) and the metrics.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "proxy/connection_counter_table.h"
#include "proxy/request_record.h"

namespace arkroute {

namespace cache {
class CacheStore;
class Coalescer;
}  // namespace cache
class BlockingPool;
class KeyRegistry;
class KeyLimits;
class Ledger;
class UpstreamGate;
class UpstreamGates;
namespace mcp {
class McpSessions;
}  // namespace mcp

namespace http {
struct ConnectionCounters;
}  // namespace http

namespace ops {
class MetricsRegistry;
class RequestMetrics;
}  // namespace ops

struct Services {
  cache::CacheStore* store = nullptr;
  cache::Coalescer* coalescer = nullptr;
  std::function<int64_t()> now_ms;
  // Threads for work that may wait on the database (Worker::offLoop): cache reads and ledger
  // writes, and apart from them (so a long purge never holds up a lookup) admin changes. Null:
  // such work runs inline.
  BlockingPool* blocking = nullptr;
  BlockingPool* maintenance = nullptr;
  KeyRegistry* keys = nullptr;      // virtual keys (always present in a running gateway)
  KeyLimits* key_limits = nullptr;  // per-key rate limits and budget reservations
  Ledger* ledger = nullptr;         // spend and savings per key × model × day
  UpstreamGates* gates = nullptr;   // per-upstream health, load and shaping
  RequestObservers observers;       // set before the workers start; never changed while they run
  mcp::McpSessions* mcp_sessions = nullptr;  // MCP sessions; null when [mcp] enabled = false
  // GET /metrics renders metrics_registry; metrics has the in-flight and upstream queue depth
  // gauges. Set by Observability before the workers start (null in a hand-built Services).
  ops::MetricsRegistry* metrics_registry = nullptr;
  ops::RequestMetrics* metrics = nullptr;
  // Per upstream name: connection totals every worker's pools for that upstream add to.
  std::shared_ptr<ConnectionCounterTable> connection_counters =
      std::make_shared<ConnectionCounterTable>();
  // Times a worker stopped accepting for a moment because accept() failed for want of file
  // descriptors or memory (http::HttpServer::kAcceptPause). Null in a hand-built Services.
  std::shared_ptr<std::atomic<uint64_t>> accept_pauses;
  // True from a failed write to the state database (a full disk) until RocksDB recovers: the cache
  // and the ledger store nothing meanwhile (cache::RocksDatabase::write). Null without a database.
  std::function<bool()> database_writes_stopped;
  // The state database's path (RocksDatabase::canonicalPath, and lexicalPath: links unresolved);
  // "" without one. An admin request naming another (kDatabaseHeader, sent by the CLI) is
  // refused: it meant another gateway.
  std::string database_path;
  std::string database_path_as_written;
  // url answers that waited for room in the cache's pending writes (GenerationHandler::keepEntry).
  // Null in a hand-built Services.
  std::shared_ptr<std::atomic<uint64_t>> cache_room_waits;

  void reportFinished(const RequestRecord& record) const {
    for (const auto& observer : observers) observer->onRequestFinished(record);
  }
};

int64_t systemNowMs();

}  // namespace arkroute
