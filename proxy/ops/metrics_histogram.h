// A Prometheus histogram: fixed upper bounds ("le"), relaxed atomic counts per bucket and a sum.
// observe() is lock-free and may be called from any thread: each thread counts in its own shard
// (thread_shard.h), so workers never contend. snapshot() adds the shards up into cumulative
// counts whose last element (+Inf) is the total, so a scrape is always self-consistent.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/thread_shard.h"

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
  // Counts per bucket (not cumulative; +1 for +Inf), each shard in whole cache lines of its own.
  struct alignas(kCacheLine) Line {
    static constexpr size_t kCounts = kCacheLine / sizeof(std::atomic<uint64_t>);
    std::atomic<uint64_t> counts[kCounts] = {};
  };
  std::atomic<uint64_t>& count(size_t shard, size_t bucket) const {
    return lines_[shard * lines_per_shard_ + bucket / Line::kCounts].counts[bucket % Line::kCounts];
  }

  size_t lines_per_shard_ = 0;
  std::unique_ptr<Line[]> lines_;
  ShardedTotal<double> sum_;
};

// Upper bounds in seconds suited to image generation: from 50 ms to 10 minutes.
std::vector<double> generationSecondsBuckets();
// The same, starting at 1 ms, for whole requests (cache hits take a millisecond or two).
std::vector<double> requestSecondsBuckets();

}  // namespace arkroute::ops
