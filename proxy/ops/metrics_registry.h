// The process-wide metrics registry behind GET /metrics. Families are registered at startup
// (counter, gauge, histogram: updated in place by any thread, lock-free), or as collectors: a
// callback that reads values owned elsewhere (cache store, connection pools) at scrape time.
// render() writes every family in the Prometheus text exposition format 0.0.4, in registration
// order, each with its HELP and TYPE lines. Knows nothing about HTTP or the pipeline.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/ops/metrics_family.h"
#include "proxy/ops/metrics_histogram.h"
#include "proxy/ops/metrics_text.h"
#include "proxy/ops/metrics_values.h"

namespace arkroute::ops {

class MetricsRegistry {
 public:
  struct Sample {
    std::vector<std::string> labels;  // values, in the order of the collector's label names
    double value = 0;
  };
  using Collect = std::function<std::vector<Sample>()>;

  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registration: thread-safe, but meant for startup. Throws std::invalid_argument for an
  // invalid or already registered name or an invalid label name. The returned family lives as
  // long as the registry.
  MetricFamily<Counter>& counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> labels = {});
  MetricFamily<Gauge>& gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> labels = {});
  MetricFamily<Histogram>& histogram(const std::string& name, const std::string& help,
                                     std::vector<std::string> labels, std::vector<double> bounds);
  // A counter or gauge whose samples collect() returns at each scrape. collect runs on the
  // scraping thread with no registry lock held against updates; it must be thread-safe and fast.
  void collector(const std::string& name, const std::string& help, MetricType type,
                 std::vector<std::string> labels, Collect collect);
  // The same for one unlabelled value: read() at each scrape.
  void valueCollector(const std::string& name, const std::string& help, MetricType type,
                      std::function<double()> read);

  // The whole exposition text. Thread-safe.
  std::string render() const;

 private:
  struct Entry;
  Entry& add(const std::string& name, const std::string& help, MetricType type,
             const std::vector<std::string>& labels);
  static void renderEntry(const Entry& entry, std::string* out);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

}  // namespace arkroute::ops
