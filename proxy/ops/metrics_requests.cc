// Request metrics: family registration and what one finished request adds.
#include "proxy/ops/metrics_requests.h"

namespace arkroute::ops {

RequestMetrics::RequestMetrics(MetricsRegistry& registry, const std::vector<std::string>& upstreams)
    : id_(nextMemoOwnerId()),
      requests_(registry.counter(
          "arkroute_requests_total",
          "Requests answered, by model (empty outside image generation), HTTP status (0: the "
          "client left first) and cache status (HIT, MISS, BYPASS, COALESCED; empty outside image "
          "generation).",
          {"model", "status", "cache"})),
      request_seconds_(registry.histogram(
          "arkroute_request_duration_seconds",
          "Time from a request's arrival to its end (log phase), by cache status.", {"cache"},
          requestSecondsBuckets())),
      upstream_seconds_(registry.histogram(
          "arkroute_upstream_duration_seconds",
          "Time from sending a request upstream (including waiting for a pooled connection) to "
          "the end of its response or its failure, by upstream.",
          {"upstream"}, generationSecondsBuckets())),
      in_flight_(registry
                     .gauge("arkroute_requests_in_flight",
                            "Requests accepted from clients and not finished yet.")
                     .with({})),
      queue_depth_(registry.gauge("arkroute_upstream_queue_depth",
                                  "Requests waiting in an upstream's admission queue.",
                                  {"upstream"})),
      cost_usd_(registry.counter(
          "arkroute_cost_usd_total",
          "USD spent upstream (price-table estimate, or exact from token usage), by model.",
          {"model"})),
      saved_usd_(registry.counter(
          "arkroute_saved_usd_total",
          "USD not spent because the cache answered (hits and coalesced waits), by model.",
          {"model"})),
      cost_unknown_(registry.counter(
          "arkroute_cost_unknown_total",
          "Successful requests of models without a [model.price], whose cost is unknown.",
          {"model"})),
      images_(registry.counter("arkroute_images_total", "Images delivered to clients, by model.",
                               {"model"})),
      errors_(registry.counter("arkroute_errors_total",
                               "Requests answered with an error, by the side at fault: client "
                               "(4xx the gateway sent), upstream (provider failure or error "
                               "answer), internal.",
                               {"source"})) {
  for (const std::string& upstream : upstreams) queue_depth_.with({upstream});
  for (const char* source : {"client", "upstream", "internal"}) errors_.with({source});
}

std::string_view RequestMetrics::errorSource(const RequestRecord& record) {
  if (record.outcome == "client_error") return "client";
  if (record.outcome == "upstream_error") return "upstream";
  if (record.outcome == "internal_error") return "internal";
  if (record.outcome == "client_gone" || record.status < 400) return "";
  if (!record.upstream.empty()) return "upstream";  // a provider error passed through
  return record.status >= 500 ? "internal" : "client";
}

RequestMetrics::Series& RequestMetrics::seriesFor(const RequestRecord& record) const {
  thread_local Series series;
  std::string_view source = errorSource(record);
  if (series.owner == id_ && series.status == record.status && series.model == record.model &&
      series.cache_status == record.cache_status && series.upstream == record.upstream &&
      series.source == source) {
    return series;
  }
  series = Series{id_,
                  std::string(record.model),
                  std::string(record.cache_status),
                  std::string(record.upstream),
                  std::string(source),
                  record.status};
  return series;
}

void RequestMetrics::onRequestFinished(const RequestRecord& record) {
  Series& s = seriesFor(record);
  if (!s.requests)
    s.requests = &requests_.with({s.model, std::to_string(s.status), s.cache_status});
  s.requests->inc();
  if (!s.request_seconds) s.request_seconds = &request_seconds_.with({s.cache_status});
  s.request_seconds->observe(record.total_ms / 1000.0);
  if (!s.upstream.empty()) {
    if (!s.upstream_seconds) s.upstream_seconds = &upstream_seconds_.with({s.upstream});
    s.upstream_seconds->observe(record.upstream_ms / 1000.0);
  }
  if (!s.model.empty()) {
    if (record.cost_usd) {
      if (!s.cost_usd) s.cost_usd = &cost_usd_.with({s.model});
      s.cost_usd->inc(*record.cost_usd);
    } else {  // nullopt only for a request paid for at an unknown price (0 when not paid)
      if (!s.cost_unknown) s.cost_unknown = &cost_unknown_.with({s.model});
      s.cost_unknown->inc();
    }
    if (record.saved_usd) {
      if (!s.saved_usd) s.saved_usd = &saved_usd_.with({s.model});
      s.saved_usd->inc(*record.saved_usd);
    }
    if (record.images > 0) {
      if (!s.images) s.images = &images_.with({s.model});
      s.images->inc(record.images);
    }
  }
  if (!s.source.empty()) {
    if (!s.errors) s.errors = &errors_.with({s.source});
    s.errors->inc();
  }
}

}  // namespace arkroute::ops
