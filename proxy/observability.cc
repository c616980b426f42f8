// Observability wiring: registry, request metrics, collectors and the access log.
#include "proxy/observability.h"

#include <map>

#include "proxy/http/upstream.h"
#include "proxy/metrics_endpoint.h"

namespace arkroute {

std::unique_ptr<Observability> Observability::create(const Config& config, Services& services,
                                                     std::string* error) {
  std::unique_ptr<Observability> self(new Observability());
  if (config.log.access_log != "off") {
    ops::AccessLog::Options options;
    options.include_prompts = config.log.prompts;
    self->access_log_ = ops::AccessLog::open(config.log.access_log, options, error);
    if (!self->access_log_) return nullptr;
  }
  std::vector<std::string> upstreams;
  for (const UpstreamConfig& upstream : config.upstreams) upstreams.push_back(upstream.name);
  self->requests_ = std::make_shared<ops::RequestMetrics>(self->registry_, upstreams);
  self->registerPoolMetrics(upstreams);
  if (services.store && services.coalescer) {
    registerCacheMetrics(self->registry_, *services.store, *services.coalescer);
  }
  self->registerAccessLogMetrics();
  services.metrics_registry = &self->registry_;
  services.metrics = self->requests_.get();
  services.observers.push_back(self->requests_);
  if (self->access_log_) services.observers.push_back(self->access_log_);
  return self;
}

Observability::~Observability() {
  stop();
}

void Observability::watchPool(const http::UpstreamPool* pool) {
  std::lock_guard lock(pools_mutex_);
  pools_.push_back(pool);
}

void Observability::stop() {
  {
    std::lock_guard lock(pools_mutex_);
    pools_.clear();
  }
  if (access_log_) access_log_->stop();
}

void Observability::registerPoolMetrics(const std::vector<std::string>& upstreams) {
  using Sample = ops::MetricsRegistry::Sample;
  // Both families read the pools: sums per upstream name, every configured upstream listed.
  auto sums = [this, upstreams](bool opened) {
    std::map<std::string, double> totals;
    for (const std::string& name : upstreams) totals[name] = 0;
    std::lock_guard lock(pools_mutex_);
    for (const http::UpstreamPool* pool : pools_) {
      http::UpstreamPool::ConnectionCounts counts = pool->connectionCounts();
      totals[pool->endpoint().name] += static_cast<double>(opened ? counts.opened : counts.reused);
    }
    std::vector<Sample> samples;
    for (const auto& [name, value] : totals) samples.push_back({{name}, value});
    return samples;
  };
  registry_.collector("arkroute_upstream_connections_opened_total",
                      "Connections opened to an upstream (TCP, plus TLS for https).",
                      ops::MetricType::kCounter, {"upstream"}, [sums] { return sums(true); });
  registry_.collector("arkroute_upstream_connections_reused_total",
                      "Upstream requests sent on an already-open keep-alive connection.",
                      ops::MetricType::kCounter, {"upstream"}, [sums] { return sums(false); });
}

void Observability::registerAccessLogMetrics() {
  ops::AccessLog* log = access_log_.get();
  registry_.collector(
      "arkroute_access_log_dropped_total",
      "Access-log lines dropped because the writer fell behind (queue full) or a write failed.",
      ops::MetricType::kCounter, {}, [log] {
        double dropped = log ? static_cast<double>(log->dropped()) : 0.0;
        return std::vector<ops::MetricsRegistry::Sample>{{{}, dropped}};
      });
}

}  // namespace arkroute
