// StoreCounters.
#include "cache/store_counters.h"

namespace arkroute::cache {

void StoreCounters::countLookup(LookupStatus status) {
  switch (status) {
    case LookupStatus::kHit:
      hits_.fetch_add(1, kOrder);
      return;
    case LookupStatus::kExpired:
      expired_.fetch_add(1, kOrder);
      break;
    case LookupStatus::kCorrupt:
      corrupt_.fetch_add(1, kOrder);
      break;
    case LookupStatus::kMiss:
    case LookupStatus::kKeyMismatch:
      break;
  }
  misses_.fetch_add(1, kOrder);
}

CacheStats StoreCounters::snapshot(uint64_t entries, uint64_t bytes) const {
  CacheStats stats;
  stats.entries = entries;
  stats.bytes = bytes;
  stats.hits = hits_.load(kOrder);
  stats.misses = misses_.load(kOrder);
  stats.expired = expired_.load(kOrder);
  stats.corrupt = corrupt_.load(kOrder);
  stats.evictions = evictions_.load(kOrder);
  stats.dropped_writes = dropped_writes_.load(kOrder);
  return stats;
}

}  // namespace arkroute::cache
