// The in-memory CacheStore: a map from digest to record under one mutex, an age index (created_ms,
// digest) for oldest-first eviction under max_bytes, and TTL checked on read. Entry size counts
// body, canonical text, content type and model. Used by tests and when no disk cache is wanted;
// nothing survives the process. Inserts are synchronous (a map insert), so flush() has nothing to
// wait for, and sweepExpired() examines every entry (memory only, no I/O).
#pragma once

#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "cache/cache_store.h"
#include "cache/store_counters.h"

namespace arkroute::cache {

class MemoryCacheStore : public CacheStore {
 public:
  explicit MemoryCacheStore(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  LookupResult lookup(const CacheKey& key, int64_t now_ms) override;
  LookupResult lookupByDigest(const Digest& digest, int64_t now_ms) override;
  std::shared_ptr<const CacheEntry> findInMemory(const CacheKey& key, int64_t now_ms) override;
  using CacheStore::insert;
  bool insert(const CacheKey& key, std::shared_ptr<const CacheEntry> entry) override;
  void flush() override {}
  uint64_t purge(const std::optional<std::string>& model) override;
  uint64_t sweepExpired(int64_t now_ms) override;
  void setMaxBytes(uint64_t max_bytes) override;
  CacheStats stats() const override;

 private:
  struct Record {
    std::string canonical;
    std::shared_ptr<const CacheEntry> entry;
    uint64_t size = 0;
  };
  using Records = std::unordered_map<Digest, Record, DigestHash>;
  LookupResult find(const Digest& digest, const std::string* canonical, int64_t now_ms);
  void eraseLocked(Records::iterator it);
  template <typename Predicate>
  uint64_t eraseWhereLocked(Predicate doomed);
  void evictOverLimitLocked();

  uint64_t max_bytes_;
  mutable std::mutex mutex_;
  Records records_;
  std::set<std::pair<int64_t, Digest>> by_age_;  // (created_ms, digest): oldest first
  uint64_t bytes_ = 0;
  StoreCounters counters_;
};

}  // namespace arkroute::cache
