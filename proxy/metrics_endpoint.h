// GET /metrics (Prometheus text exposition 0.0.4) and the scrape-time collectors that read the
// cache store and coalescer counters (the same numbers as GET /admin/cache/stats).
#pragma once

#include <memory>
#include <string>

#include "proxy/http/server.h"

namespace arkroute {

namespace cache {
class CacheStore;
class Coalescer;
}  // namespace cache
namespace ops {
class MetricsRegistry;
}  // namespace ops

class Worker;

// Renders the registry in Services::metrics_registry; unauthenticated, like any scrape target
// (bind the gateway to loopback or a private network).
void handleMetrics(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                   std::string request_id);

// arkroute_cache_*: entries and bytes (gauges), hits, misses, coalesced, evictions, ... (counters).
// store and coalescer must outlive every scrape.
void registerCacheMetrics(ops::MetricsRegistry& registry, const cache::CacheStore& store,
                          const cache::Coalescer& coalescer);

}  // namespace arkroute
