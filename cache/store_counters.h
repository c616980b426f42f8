// Event counters shared by the CacheStore backends: lookups by status, evictions and dropped
// writes, as relaxed atomics (any thread may count; stats() reads a snapshot).
#pragma once

#include <atomic>
#include <cstdint>

#include "cache/cache_store.h"

namespace arkroute::cache {

class StoreCounters {
 public:
  // Called once per lookup with its final status.
  void countLookup(LookupStatus status);
  void countEvictions(uint64_t how_many) { evictions_.fetch_add(how_many, kOrder); }
  void countDroppedWrite() { dropped_writes_.fetch_add(1, kOrder); }

  // The counters, with the totals the store keeps itself.
  CacheStats snapshot(uint64_t entries, uint64_t bytes) const;

 private:
  static constexpr std::memory_order kOrder = std::memory_order_relaxed;
  std::atomic<uint64_t> hits_{0}, misses_{0}, expired_{0}, corrupt_{0};
  std::atomic<uint64_t> evictions_{0}, dropped_writes_{0};
};

}  // namespace arkroute::cache
