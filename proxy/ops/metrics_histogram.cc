// Histogram buckets and snapshots.
#include "proxy/ops/metrics_histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace arkroute::ops {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (size_t i = 1; i < bounds_.size(); ++i) {
    if (!(bounds_[i - 1] < bounds_[i])) {
      throw std::invalid_argument("histogram bounds must be strictly increasing");
    }
  }
  lines_per_shard_ = (bounds_.size() + 1 + Line::kCounts - 1) / Line::kCounts;
  lines_ = std::make_unique<Line[]>(lines_per_shard_ * kThreadShards);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  // The first bound >= value ("le" is inclusive); past the last bound: the +Inf bucket.
  size_t index = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                     bounds_.begin());
  count(threadShard(), index).fetch_add(1, std::memory_order_relaxed);
  sum_.add(value);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    for (size_t shard = 0; shard < kThreadShards; ++shard) {
      running += count(shard, i).load(std::memory_order_relaxed);
    }
    snapshot.cumulative[i] = running;
  }
  snapshot.sum = sum_.total();
  return snapshot;
}

std::vector<double> generationSecondsBuckets() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600};
}

std::vector<double> requestSecondsBuckets() {
  std::vector<double> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025};
  for (double bound : generationSecondsBuckets()) bounds.push_back(bound);
  return bounds;
}

}  // namespace arkroute::ops
