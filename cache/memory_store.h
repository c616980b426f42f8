// In-memory CacheStore: a map from digest to record, an age index for oldest-first eviction under
// max_bytes, and TTL on read. Used in tests and when no disk cache is wanted.
#pragma once

#include <map>
#include <mutex>

#include "cache/cache_store.h"

namespace arkroute::cache {

class MemoryCacheStore : public CacheStore {
 public:
  explicit MemoryCacheStore(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  LookupResult lookup(const CacheKey& key, int64_t now_ms) override;
  LookupResult lookupByDigest(const Digest& digest, int64_t now_ms) override;
  void insert(const CacheKey& key, CacheEntry entry) override;
  void flush() override {}
  uint64_t purge(const std::optional<std::string>& model) override;
  uint64_t sweepExpired(int64_t now_ms) override;
  CacheStats stats() const override;

 private:
  struct Record {
    std::string canonical;
    std::shared_ptr<const CacheEntry> entry;
    uint64_t size = 0;
  };
  LookupResult find(const Digest& digest, const std::string* canonical, int64_t now_ms);
  void eraseLocked(std::map<Digest, Record>::iterator it);

  uint64_t max_bytes_;
  mutable std::mutex mutex_;
  std::map<Digest, Record> records_;
  std::multimap<int64_t, Digest> by_age_;
  uint64_t bytes_ = 0;
  StoreCounters counters_;
};

}  // namespace arkroute::cache
