// Metric registration and rendering in the Prometheus text format.
#include "proxy/ops/metrics_registry.h"

#include <stdexcept>

namespace arkroute::ops {

struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  MetricType type;
  std::vector<std::string> labels;
  std::unique_ptr<MetricFamily<Counter>> counters;
  std::unique_ptr<MetricFamily<Gauge>> gauges;
  std::unique_ptr<MetricFamily<Histogram>> histograms;
  Collect collect;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::add(const std::string& name, const std::string& help,
                                             MetricType type,
                                             const std::vector<std::string>& labels) {
  if (!isValidMetricName(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const std::string& label : labels) {
    if (!isValidLabelName(label) || (type == MetricType::kHistogram && label == "le")) {
      throw std::invalid_argument("invalid label name '" + label + "' for " + name);
    }
  }
  for (const auto& entry : entries_) {
    if (entry->name == name) throw std::invalid_argument("metric registered twice: " + name);
  }
  entries_.push_back(std::make_unique<Entry>(Entry{name, help, type, labels, {}, {}, {}, {}}));
  return *entries_.back();
}

MetricFamily<Counter>& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                                std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  Entry& entry = add(name, help, MetricType::kCounter, labels);
  entry.counters = std::make_unique<MetricFamily<Counter>>(
      std::move(labels), [] { return std::make_unique<Counter>(); });
  return *entry.counters;
}

MetricFamily<Gauge>& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                                            std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  Entry& entry = add(name, help, MetricType::kGauge, labels);
  entry.gauges = std::make_unique<MetricFamily<Gauge>>(std::move(labels),
                                                       [] { return std::make_unique<Gauge>(); });
  return *entry.gauges;
}

MetricFamily<Histogram>& MetricsRegistry::histogram(const std::string& name,
                                                    const std::string& help,
                                                    std::vector<std::string> labels,
                                                    std::vector<double> bounds) {
  Histogram check(bounds);  // throws on bad bounds before anything is registered
  std::lock_guard lock(mutex_);
  Entry& entry = add(name, help, MetricType::kHistogram, labels);
  entry.histograms = std::make_unique<MetricFamily<Histogram>>(
      std::move(labels), [bounds] { return std::make_unique<Histogram>(bounds); });
  return *entry.histograms;
}

void MetricsRegistry::collector(const std::string& name, const std::string& help, MetricType type,
                                std::vector<std::string> labels, Collect collect) {
  if (type == MetricType::kHistogram) {
    throw std::invalid_argument("a collector cannot be a histogram: " + name);
  }
  std::lock_guard lock(mutex_);
  Entry& entry = add(name, help, type, labels);
  entry.collect = std::move(collect);
}

void MetricsRegistry::valueCollector(const std::string& name, const std::string& help,
                                     MetricType type, std::function<double()> read) {
  collector(name, help, type, {}, [read = std::move(read)] {
    return std::vector<Sample>{{{}, read()}};
  });
}

void MetricsRegistry::renderEntry(const Entry& entry, std::string* out) {
  appendHeader(out, entry.name, entry.help, entry.type);
  const std::vector<std::string>& names = entry.labels;
  if (entry.counters) {
    entry.counters->forEach([&](const auto& values, const Counter& counter) {
      appendSample(out, entry.name, names, values, counter.value());
    });
  } else if (entry.gauges) {
    entry.gauges->forEach([&](const auto& values, const Gauge& gauge) {
      appendSample(out, entry.name, names, values, gauge.value());
    });
  } else if (entry.histograms) {
    const std::string bucket = entry.name + "_bucket";
    entry.histograms->forEach([&](const auto& values, const Histogram& histogram) {
      Histogram::Snapshot snapshot = histogram.snapshot();
      for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
        std::string le = i < snapshot.bounds.size() ? formatValue(snapshot.bounds[i]) : "+Inf";
        ExtraLabel extra{"le", le};
        appendSample(out, bucket, names, values, static_cast<double>(snapshot.cumulative[i]),
                     &extra);
      }
      appendSample(out, entry.name + "_sum", names, values, snapshot.sum);
      appendSample(out, entry.name + "_count", names, values,
                   static_cast<double>(snapshot.cumulative.back()));
    });
  } else if (entry.collect) {
    for (const Sample& sample : entry.collect()) {
      appendSample(out, entry.name, names, sample.labels, sample.value);
    }
  }
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(entries_.size() * 256);
  for (const auto& entry : entries_) renderEntry(*entry, &out);
  return out;
}

}  // namespace arkroute::ops
