// RocksDB CacheStore. One DB (cache.path) with column families "cache" (digest → record, large
// bodies in BlobDB blob files), "cache_meta" (digest → created, expiry, size, model: TTL sweeps
// and purges without reading bodies), "cache_by_time" (created_ms big-endian + digest: oldest-
// first eviction), and "ledger" and "keys" kept for the money features. Inserts go to a background
// writer thread (bounded queue); a record and its index entry are written in one WriteBatch with
// the WAL on, so a SIGKILL never leaves a torn record and a checksum catches anything else.
#pragma once

#include <rocksdb/db.h>

#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "cache/cache_store.h"

namespace arkroute::cache {

class RocksCacheStore : public CacheStore {
 public:
  // Opens (creating if needed). nullptr and *error on failure (path not writable, locked, ...).
  static std::unique_ptr<RocksCacheStore> open(const std::string& path, uint64_t max_bytes,
                                               std::string* error);
  ~RocksCacheStore() override;

  LookupResult lookup(const CacheKey& key, int64_t now_ms) override;
  LookupResult lookupByDigest(const Digest& digest, int64_t now_ms) override;
  void insert(const CacheKey& key, CacheEntry entry) override;
  void flush() override;
  uint64_t purge(const std::optional<std::string>& model) override;
  uint64_t sweepExpired(int64_t now_ms) override;
  CacheStats stats() const override;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(std::string_view name) const;

 private:
  struct PendingWrite {
    Digest digest;
    std::string canonical;
    CacheEntry entry;
  };
  RocksCacheStore() = default;
  LookupResult find(const Digest& digest, const std::string* canonical, int64_t now_ms);
  void writerLoop();
  void write(const PendingWrite& pending);
  void removeRecord(const Digest& digest, rocksdb::WriteBatch* batch, bool keep_hot = false);
  void evictOverLimit();
  void loadTotals();

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* by_time_ = nullptr;
  uint64_t max_bytes_ = 0;
  std::atomic<uint64_t> entries_{0}, bytes_{0};
  StoreCounters counters_;
  std::mutex write_mutex_;  // serialises index maintenance (writer thread, purge, sweep)

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<PendingWrite> queue_;
  // Hot entries kept decoded in memory (bounded by hot_limit_ bytes, least recently used out
  // first): recent inserts — served before the background write lands, so a request arriving
  // right after a miss completed still hits (read-your-writes) — and recent hits, served without
  // reading, checking and copying the record again. Unwritten entries are never dropped.
  struct HotEntry {
    std::string canonical;
    std::shared_ptr<const CacheEntry> entry;
    bool written = false;
    std::list<Digest>::iterator age;
  };
  std::shared_ptr<const CacheEntry> hotLookup(const Digest& digest, const std::string* canonical,
                                              int64_t now_ms);
  void hotPut(const Digest& digest, const std::string& canonical,
              std::shared_ptr<const CacheEntry> entry, bool written);
  void hotErase(const Digest& digest);
  std::map<Digest, HotEntry> hot_;
  std::list<Digest> hot_order_;  // front = most recently used
  uint64_t hot_bytes_ = 0;
  uint64_t hot_limit_ = 0;
  uint64_t queued_bytes_ = 0;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace arkroute::cache
