// The gateway's request metrics: the families every finished request updates (requests by
// model/status/cache, durations, cost and savings, errors by source), the in-flight gauge and the
// per-upstream queue depth gauge. A RequestObserver: Services::reportFinished hands it each
// RequestRecord on the worker thread; every update is a relaxed atomic (no lock once the labelled
// child exists), and each thread remembers the children of the last kind of request it counted
// (same model, status, cache status, upstream), so a run of alike requests skips the lookups. The
// in-flight and queue depth gauges are moved by whoever starts and ends the work they count
// (dispatchRequest; the upstream queue in the admit phase).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/ops/metrics_registry.h"
#include "proxy/request_record.h"

namespace arkroute::ops {

class RequestMetrics : public RequestObserver {
 public:
  // Registers its families in registry (which must outlive it). upstreams: the configured
  // upstream names, whose queue depth and connection series start at 0.
  RequestMetrics(MetricsRegistry& registry, const std::vector<std::string>& upstreams);

  void onRequestFinished(const RequestRecord& record) override;

  // Requests accepted and not yet ended: +1 when dispatched, -1 when the exchange ends.
  Gauge& inFlight() { return in_flight_; }
  // Requests waiting in an upstream's admission queue (traffic shaping): add(1) on enqueue,
  // sub(1) on dequeue. Thread-safe; keep the reference.
  Gauge& upstreamQueueDepth(const std::string& upstream) { return queue_depth_.with({upstream}); }

  // "client", "upstream", "internal", or "" when the record is not an error.
  static std::string_view errorSource(const RequestRecord& record);

 private:
  // The children a kind of request updates, looked up on first use (nullptr until then).
  struct Series {
    uint64_t owner = 0;  // the RequestMetrics (id_) these belong to
    std::string model, cache_status, upstream, source;
    int status = -1;
    Counter* requests = nullptr;
    Histogram* request_seconds = nullptr;
    Histogram* upstream_seconds = nullptr;
    Counter* cost_usd = nullptr;
    Counter* saved_usd = nullptr;
    Counter* cost_unknown = nullptr;
    Counter* images = nullptr;
    Counter* errors = nullptr;
  };
  // This thread's series for the record's labels: the remembered one when they match.
  Series& seriesFor(const RequestRecord& record) const;

  const uint64_t id_;  // nextMemoOwnerId()
  MetricFamily<Counter>& requests_;
  MetricFamily<Histogram>& request_seconds_;
  MetricFamily<Histogram>& upstream_seconds_;
  Gauge& in_flight_;
  MetricFamily<Gauge>& queue_depth_;
  MetricFamily<Counter>& cost_usd_;
  MetricFamily<Counter>& saved_usd_;
  MetricFamily<Counter>& cost_unknown_;
  MetricFamily<Counter>& images_;
  MetricFamily<Counter>& errors_;
};

}  // namespace arkroute::ops
