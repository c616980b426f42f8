// A Prometheus histogram: fixed upper bounds ("le"), one relaxed atomic count per bucket and an
// atomic sum. observe() is lock-free and may be called from any thread; snapshot() returns
// cumulative counts whose last element (+Inf) is the total, so a scrape is always self-consistent.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace arkroute::ops {

class Histogram {
 public:
  // bounds: strictly increasing finite upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);

  void observe(double value);

  struct Snapshot {
    std::vector<double> bounds;        // as given, without +Inf
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries; the last is the count
    double sum = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative; +1 for +Inf
  std::atomic<double> sum_{0.0};
};

// Upper bounds in seconds suited to image generation: from 50 ms to 10 minutes.
std::vector<double> generationSecondsBuckets();
// The same, starting at 1 ms, for whole requests (cache hits take a millisecond or two).
std::vector<double> requestSecondsBuckets();

}  // namespace arkroute::ops
