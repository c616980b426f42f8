// Observability wiring: registry, request metrics, collectors and the access log.
#include "proxy/observability.h"

#include "proxy/http/upstream.h"
#include "proxy/metrics_endpoint.h"

namespace arkroute {

std::unique_ptr<Observability> Observability::create(const Config& config, Services& services,
                                                     std::string* error) {
  std::unique_ptr<Observability> self(new Observability());
  if (config.log.access_log != "off") {
    ops::AccessLog::Options options;
    self->access_log_ = ops::AccessLog::open(config.log.access_log, options, error);
    if (!self->access_log_) return nullptr;
  }
  std::vector<std::string> upstreams;
  for (const UpstreamConfig& upstream : config.upstreams) upstreams.push_back(upstream.name);
  self->requests_ = std::make_shared<ops::RequestMetrics>(self->registry_, upstreams);
  self->registerConnectionMetrics(services, upstreams);
  if (services.store && services.coalescer) {
    registerCacheMetrics(self->registry_, *services.store, *services.coalescer);
    self->registerCacheWaitMetric(services);
  }
  self->registerAccessLogMetrics();
  self->registerAcceptMetrics(services);
  if (services.database_writes_stopped) {
    self->registry_.valueCollector(
        "arkroute_database_writes_stopped",
        "1 from a failed write to the cache database (a full disk, an I/O error) until RocksDB "
        "recovers (a full disk: once 64 MiB are free) or a restart: the cache and the ledger "
        "store nothing meanwhile.",
        ops::MetricType::kGauge,
        [stopped = services.database_writes_stopped] { return stopped() ? 1.0 : 0.0; });
  }
  services.metrics_registry = &self->registry_;
  services.metrics = self->requests_.get();
  services.observers.push_back(self->requests_);
  if (self->access_log_) services.observers.push_back(self->access_log_);
  return self;
}

Observability::~Observability() {
  stop();
}

void Observability::stop() {
  if (access_log_) access_log_->stop();
}

// The upstreams at start are listed at once (at 0); one a reload adds, with its first pool.
void Observability::registerConnectionMetrics(Services& services,
                                              const std::vector<std::string>& upstreams) {
  using Sample = ops::MetricsRegistry::Sample;
  std::shared_ptr<ConnectionCounterTable> table = services.connection_counters;
  for (const std::string& name : upstreams) table->forUpstream(name);
  auto read = [table](bool opened) {
    std::vector<Sample> samples;
    table->forEach([&](const std::string& name, const http::ConnectionCounters& counters) {
      const auto& counter = opened ? counters.opened : counters.reused;
      samples.push_back({{name}, static_cast<double>(counter.total())});
    });
    return samples;
  };
  registry_.collector("arkroute_upstream_connections_opened_total",
                      "Connections opened to an upstream (TCP, plus TLS for https).",
                      ops::MetricType::kCounter, {"upstream"}, [read] { return read(true); });
  registry_.collector("arkroute_upstream_connections_reused_total",
                      "Upstream requests sent on an already-open keep-alive connection.",
                      ops::MetricType::kCounter, {"upstream"}, [read] { return read(false); });
}

std::shared_ptr<std::atomic<uint64_t>> Observability::sharedCounter(const std::string& name,
                                                                    const std::string& help) {
  auto count = std::make_shared<std::atomic<uint64_t>>(0);
  registry_.valueCollector(name, help, ops::MetricType::kCounter, [count] {
    return static_cast<double>(count->load(std::memory_order_relaxed));
  });
  return count;
}

void Observability::registerAcceptMetrics(Services& services) {
  services.accept_pauses = sharedCounter(
      "arkroute_accept_paused_total",
      "Times a worker stopped accepting connections for 250 ms because accept() failed for want "
      "of resources (most often the open-files limit).");
}

void Observability::registerCacheWaitMetric(Services& services) {
  services.cache_room_waits = sharedCounter(
      "arkroute_cache_url_waits_total",
      "url answers that waited for the cache's writer to make room (cache.max_pending_bytes) "
      "before they could be stored and answered.");
}

void Observability::registerAccessLogMetrics() {
  ops::AccessLog* log = access_log_.get();
  registry_.valueCollector(
      "arkroute_access_log_dropped_total",
      "Access-log lines dropped because the writer fell behind (queue full) or a write failed.",
      ops::MetricType::kCounter, [log] { return log ? static_cast<double>(log->dropped()) : 0.0; });
}

}  // namespace arkroute
