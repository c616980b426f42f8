// MemoryCacheStore.
#include "cache/memory_store.h"

namespace arkroute::cache {

namespace {

uint64_t sizeOf(const std::string& canonical, const CacheEntry& entry) {
  return canonical.size() + entry.body.size() + entry.content_type.size() + entry.model.size();
}

}  // namespace

LookupResult MemoryCacheStore::lookup(const CacheKey& key, int64_t now_ms) {
  return find(key.digest(), &key.canonical(), now_ms);
}

LookupResult MemoryCacheStore::lookupByDigest(const Digest& digest, int64_t now_ms) {
  return find(digest, nullptr, now_ms);
}

std::shared_ptr<const CacheEntry> MemoryCacheStore::findInMemory(const CacheKey& key,
                                                                 int64_t now_ms) {
  std::shared_ptr<const CacheEntry> entry;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(key.digest());
    if (it != records_.end() && judgeStoredEntry(it->second.canonical, *it->second.entry,
                                                 &key.canonical(), now_ms) == LookupStatus::kHit) {
      entry = it->second.entry;
    }
  }
  if (entry) counters_.countLookup(LookupStatus::kHit);
  return entry;
}

LookupResult MemoryCacheStore::find(const Digest& digest, const std::string* canonical,
                                    int64_t now_ms) {
  LookupResult result;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(digest);
    if (it != records_.end()) {
      result.status = judgeStoredEntry(it->second.canonical, *it->second.entry, canonical, now_ms);
      if (result.status == LookupStatus::kHit) result.entry = it->second.entry;
      if (result.status == LookupStatus::kExpired) eraseLocked(it);
    }
  }
  counters_.countLookup(result.status);
  return result;
}

bool MemoryCacheStore::insert(const CacheKey& key, std::shared_ptr<const CacheEntry> entry) {
  uint64_t size = sizeOf(key.canonical(), *entry);
  std::lock_guard lock(mutex_);
  if (size > max_bytes_) {
    counters_.countDroppedWrite();  // could never fit: it would only evict everything else
    return false;
  }
  auto existing = records_.find(key.digest());
  if (existing != records_.end()) eraseLocked(existing);
  std::shared_ptr<WriteProgress> written = entry->write;
  by_age_.emplace(entry->created_ms, key.digest());
  records_.emplace(key.digest(), Record{key.canonical(), std::move(entry), size});
  bytes_ += size;
  evictOverLimitLocked();
  if (written) written->settle(true);  // in memory is as durable as this store gets
  return true;
}

void MemoryCacheStore::eraseLocked(Records::iterator it) {
  by_age_.erase({it->second.entry->created_ms, it->first});
  bytes_ -= it->second.size;
  records_.erase(it);
}

template <typename Predicate>
uint64_t MemoryCacheStore::eraseWhereLocked(Predicate doomed) {
  uint64_t removed = 0;
  for (auto it = records_.begin(); it != records_.end();) {
    auto next = std::next(it);
    if (doomed(*it->second.entry)) {
      eraseLocked(it);
      ++removed;
    }
    it = next;
  }
  return removed;
}

void MemoryCacheStore::evictOverLimitLocked() {
  uint64_t evicted = 0;
  while (bytes_ > max_bytes_ && !by_age_.empty()) {
    eraseLocked(records_.find(by_age_.begin()->second));
    ++evicted;
  }
  counters_.countEvictions(evicted);
}

uint64_t MemoryCacheStore::purge(const std::optional<std::string>& model) {
  std::lock_guard lock(mutex_);
  return eraseWhereLocked([&](const CacheEntry& entry) { return !model || entry.model == *model; });
}

uint64_t MemoryCacheStore::sweepExpired(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  return eraseWhereLocked([&](const CacheEntry& entry) { return now_ms >= entry.expires_ms; });
}

void MemoryCacheStore::setMaxBytes(uint64_t max_bytes) {
  std::lock_guard lock(mutex_);
  max_bytes_ = max_bytes;
  evictOverLimitLocked();
}

CacheStats MemoryCacheStore::stats() const {
  std::lock_guard lock(mutex_);
  CacheStats stats = counters_.snapshot(records_.size(), bytes_);
  stats.memory_bytes = bytes_;
  return stats;
}

}  // namespace arkroute::cache
