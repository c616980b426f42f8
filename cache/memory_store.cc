// MemoryCacheStore.
#include "cache/memory_store.h"

namespace arkroute::cache {

LookupResult MemoryCacheStore::lookup(const CacheKey& key, int64_t now_ms) {
  return find(key.digest(), &key.canonical(), now_ms);
}

LookupResult MemoryCacheStore::lookupByDigest(const Digest& digest, int64_t now_ms) {
  return find(digest, nullptr, now_ms);
}

LookupResult MemoryCacheStore::find(const Digest& digest, const std::string* canonical,
                                    int64_t now_ms) {
  LookupResult result;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(digest);
    if (it == records_.end()) {
      result.status = LookupStatus::kMiss;
    } else if (canonical && it->second.canonical != *canonical) {
      result.status = LookupStatus::kKeyMismatch;
    } else if (it->second.entry->expires_ms <= now_ms) {
      result.status = LookupStatus::kExpired;
      eraseLocked(it);
    } else {
      result.status = LookupStatus::kHit;
      result.entry = it->second.entry;
    }
  }
  counters_.count(result.status);
  return result;
}

void MemoryCacheStore::eraseLocked(std::map<Digest, Record>::iterator it) {
  auto range = by_age_.equal_range(it->second.entry->created_ms);
  for (auto age = range.first; age != range.second; ++age) {
    if (age->second == it->first) {
      by_age_.erase(age);
      break;
    }
  }
  bytes_ -= it->second.size;
  records_.erase(it);
}

void MemoryCacheStore::insert(const CacheKey& key, CacheEntry entry) {
  std::lock_guard lock(mutex_);
  auto existing = records_.find(key.digest());
  if (existing != records_.end()) eraseLocked(existing);
  uint64_t size = entry.body.size() + key.canonical().size();
  int64_t created = entry.created_ms;
  records_[key.digest()] =
      Record{key.canonical(), std::make_shared<const CacheEntry>(std::move(entry)), size};
  by_age_.emplace(created, key.digest());
  bytes_ += size;
  while (bytes_ > max_bytes_ && !by_age_.empty()) {
    eraseLocked(records_.find(by_age_.begin()->second));
    ++counters_.evictions;
  }
}

uint64_t MemoryCacheStore::purge(const std::optional<std::string>& model) {
  std::lock_guard lock(mutex_);
  uint64_t removed = 0;
  for (auto it = records_.begin(); it != records_.end();) {
    auto next = std::next(it);
    if (!model || it->second.entry->model == *model) {
      eraseLocked(it);
      ++removed;
    }
    it = next;
  }
  return removed;
}

uint64_t MemoryCacheStore::sweepExpired(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  uint64_t removed = 0;
  for (auto it = records_.begin(); it != records_.end();) {
    auto next = std::next(it);
    if (it->second.entry->expires_ms <= now_ms) {
      eraseLocked(it);
      ++removed;
    }
    it = next;
  }
  return removed;
}

CacheStats MemoryCacheStore::stats() const {
  std::lock_guard lock(mutex_);
  return CacheStats{records_.size(),     bytes_,
                    counters_.hits,      counters_.misses,
                    counters_.expired,   counters_.corrupt,
                    counters_.evictions, counters_.dropped};
}

}  // namespace arkroute::cache
