// The /metrics handler and the cache collectors.
#include "proxy/metrics_endpoint.h"

#include "cache/cache_store.h"
#include "cache/coalescer.h"
#include "proxy/api_error.h"
#include "proxy/ops/metrics_registry.h"
#include "proxy/responses.h"
#include "proxy/worker.h"

namespace arkroute {

using ops::MetricsRegistry;
using ops::MetricType;

void handleMetrics(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                   std::string request_id) {
  const ops::MetricsRegistry* registry = worker.services().metrics_registry;
  if (!registry) {
    sendError(*exchange, ApiError::internal("Metrics are not available in this process."),
              request_id);
    return;
  }
  http::Headers headers;
  headers.set("Content-Type", std::string(ops::kExpositionContentType));
  headers.set("Cache-Control", "no-store");
  headers.set("x-request-id", request_id);
  exchange->respond(200, headers, registry->render());
}

void registerCacheMetrics(MetricsRegistry& registry, const cache::CacheStore& store,
                          const cache::Coalescer& coalescer) {
  const cache::CacheStore* s = &store;
  const cache::Coalescer* c = &coalescer;
  registry.valueCollector("arkroute_cache_entries", "Entries in the cache.", MetricType::kGauge,
                          [s] { return s->stats().entries; });
  registry.valueCollector("arkroute_cache_bytes", "Bytes the cache entries take.",
                          MetricType::kGauge, [s] { return s->stats().bytes; });
  registry.valueCollector("arkroute_cache_memory_bytes",
                          "Bytes of cache entries held in memory (cache.memory_bytes, plus "
                          "entries not yet written).",
                          MetricType::kGauge, [s] { return s->stats().memory_bytes; });
  registry.valueCollector("arkroute_cache_hits_total", "Cache lookups that found an entry.",
                          MetricType::kCounter, [s] { return s->stats().hits; });
  registry.valueCollector("arkroute_cache_misses_total",
                          "Cache lookups that found nothing usable (absent, expired, corrupt).",
                          MetricType::kCounter, [s] { return s->stats().misses; });
  registry.valueCollector("arkroute_cache_coalesced_total",
                          "Requests served by waiting for an identical request's generation.",
                          MetricType::kCounter, [c] { return c->stats().coalesced; });
  registry.valueCollector("arkroute_cache_evictions_total",
                          "Entries evicted to stay under cache.max_bytes.", MetricType::kCounter,
                          [s] { return s->stats().evictions; });
  registry.valueCollector("arkroute_cache_expired_total", "Lookups that found an expired entry.",
                          MetricType::kCounter, [s] { return s->stats().expired; });
  registry.valueCollector("arkroute_cache_corrupt_total",
                          "Lookups that found a damaged record (deleted, served as a miss).",
                          MetricType::kCounter, [s] { return s->stats().corrupt; });
  registry.valueCollector("arkroute_cache_dropped_writes_total",
                          "Cache inserts not stored (write queue full, too big, or failed).",
                          MetricType::kCounter, [s] { return s->stats().dropped_writes; });
  registry.valueCollector("arkroute_cache_takeovers_total",
                          "Coalesced waiters that took over a failed generation.",
                          MetricType::kCounter, [c] { return c->stats().takeovers; });
  registry.valueCollector("arkroute_cache_refused_waiters_total",
                          "Coalesced waiters given the error answer of the call they waited for.",
                          MetricType::kCounter, [c] { return c->stats().refused; });
}

}  // namespace arkroute
