// The RocksDB CacheStore, over the column families of RocksDatabase. A record and its index entries
// ("cache_meta", "cache_by_time") are written in one WriteBatch, so they appear and disappear
// together; the record's checksum catches anything torn or altered. Inserts are written by a
// BackgroundWriter thread (bounded queue) and are visible at once through HotEntries, which also
// keeps recently read records decoded. Lookups run on the caller's thread. Index upkeep (writes,
// removals, eviction, purge, sweeps) is serialised by one mutex that lookups take only to delete
// an expired or corrupt record. Eviction: after each write, oldest records (by created_ms) go
// until the total record bytes fit max_bytes.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cache/background_writer.h"
#include "cache/cache_store.h"
#include "cache/hot_entries.h"
#include "cache/rocks_database.h"
#include "cache/store_counters.h"

namespace rocksdb {
class WriteBatch;
}

namespace arkroute::cache {

class RocksCacheStore : public CacheStore {
 public:
  struct Options {
    uint64_t max_bytes = 20ull << 30;           // cache.max_bytes: total encoded record bytes
    uint64_t max_pending_bytes = 256ull << 20;  // inserts accepted but not yet written
    uint64_t hot_bytes = 0;                     // 0: min(max_bytes / 4, 256 MiB)
    size_t sweep_batch = 4096;                  // index entries examined per sweepExpired call
  };

  // Called once at startup (and by `arkroute cache`): opens or creates the database at path.
  // nullptr and a sentence in *error on failure (see RocksDatabase::open).
  static std::unique_ptr<RocksCacheStore> open(const std::string& path, uint64_t max_bytes,
                                               std::string* error);
  static std::unique_ptr<RocksCacheStore> open(const std::string& path, const Options& options,
                                               std::string* error);
  // Uses an already open database (shared with the ledger); reads the totals from its index.
  RocksCacheStore(std::shared_ptr<RocksDatabase> database, const Options& options);
  // Writes every accepted insert, then stops the writer thread.
  ~RocksCacheStore() override;

  LookupResult lookup(const CacheKey& key, int64_t now_ms) override;
  LookupResult lookupByDigest(const Digest& digest, int64_t now_ms) override;
  std::shared_ptr<const CacheEntry> findInMemory(const CacheKey& key, int64_t now_ms) override;
  using CacheStore::insert;
  bool insert(const CacheKey& key, std::shared_ptr<const CacheEntry> entry) override;
  Room roomFor(uint64_t entry_bytes) const override;
  void flush() override;
  uint64_t purge(const std::optional<std::string>& model) override;
  uint64_t sweepExpired(int64_t now_ms) override;
  void setMaxBytes(uint64_t max_bytes) override;
  CacheStats stats() const override;

  // The database (for the ledger and keys families, and for tests).
  const std::shared_ptr<RocksDatabase>& database() const { return database_; }

 private:
  struct Removal {
    std::vector<Digest> digests;
    uint64_t entries = 0;
    uint64_t bytes = 0;
  };
  LookupResult find(const Digest& digest, const std::string* canonical, int64_t now_ms);
  void removeStale(const Digest& digest, LookupStatus why, int64_t now_ms);
  void writeJob(const BackgroundWriter::Job& job);
  void addRemovalLocked(const Digest& digest, rocksdb::WriteBatch* batch, Removal* removal);
  bool commitRemovalLocked(rocksdb::WriteBatch* batch, const Removal& removal);
  uint64_t removeDigestsLocked(const std::vector<Digest>& digests);
  void evictOverLimitLocked();
  void loadTotals();
  void loadUrlSecret();
  static constexpr std::string_view kUrlSecretKey = "arkroute/url-secret";

  std::shared_ptr<RocksDatabase> database_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* records_;
  rocksdb::ColumnFamilyHandle* meta_;
  rocksdb::ColumnFamilyHandle* by_time_;
  const Options options_;
  std::atomic<uint64_t> max_bytes_;
  std::atomic<uint64_t> entries_{0}, bytes_{0};
  StoreCounters counters_;
  HotEntries hot_;
  std::mutex index_mutex_;            // serialises every change to records and their index entries
  std::mutex insert_mutex_;           // keeps hot_ and the write queue in the same order
  std::string sweep_cursor_;          // meta key where the next sweep resumes ("" = from the start)
  bool url_secret_unstored_ = false;  // under index_mutex_: written with the next entry
  BackgroundWriter writer_;  // last: destroyed (drained) first, while the rest still exists
};

}  // namespace arkroute::cache
