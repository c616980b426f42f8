// Per-thread shards for state every worker updates on every request (metric values, the ledger's
// new rows). One shared atomic or mutex would bounce its cache line between the workers' cores on
// each update; with shards each thread writes only its own, and readers combine them.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>

namespace arkroute {

inline constexpr size_t kThreadShards = 16;
inline constexpr size_t kCacheLine = 64;

// The calling thread's shard: threads are numbered in the order they first ask, so up to
// kThreadShards threads (the workers, which serve every request) each have a shard of their own.
inline size_t threadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kThreadShards;
  return shard;
}

// A number many threads add to: relaxed atomics, each thread in its own cell, summed on read.
template <typename T>
class ShardedTotal {
 public:
  void add(T amount) { cells_[threadShard()].value.fetch_add(amount, std::memory_order_relaxed); }
  T total() const {
    T sum{};
    for (const Cell& cell : cells_) sum += cell.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(kCacheLine) Cell {
    std::atomic<T> value{};
  };
  std::array<Cell, kThreadShards> cells_;
};

}  // namespace arkroute
