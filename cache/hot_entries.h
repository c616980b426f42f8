// The decoded entries RocksCacheStore keeps in memory in front of RocksDB: accepted inserts whose
// background write has not landed yet (pinned: served so a request arriving right after a miss
// completed still hits — read-your-writes; never dropped, bounded by the writer's pending bound)
// and recently read records (least recently used dropped first once the byte limit is passed), so
// a hot image is served without reading, checking and copying its record again. Sizes count body
// and canonical text. Thread-safe (one mutex, held only for map and list updates).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "cache/cache_key.h"
#include "cache/cache_store.h"

namespace arkroute::cache {

class HotEntries {
 public:
  explicit HotEntries(uint64_t limit_bytes) : limit_bytes_(limit_bytes) {}

  // Called first on every lookup. The entry for digest when its canonical text equals
  // *wanted_canonical (when given) and it has not expired, else nullptr (the database decides).
  std::shared_ptr<const CacheEntry> find(const Digest& digest, const std::string* wanted_canonical,
                                         int64_t now_ms);
  // Called on insert, before the write is queued: replaces any entry for digest, pinned.
  void putPending(const Digest& digest, const std::string& canonical,
                  std::shared_ptr<const CacheEntry> entry);
  // Called after a record was read and served: kept unless digest already has an entry (which is
  // the same or newer), or digest's record was removed since removals_seen (removals() read before
  // the record was): a purge or an eviction meanwhile, whose entry must not come back. Should more
  // than kRemovalsKept removals have happened since, it is not kept either (it may have been one).
  void putRead(const Digest& digest, const std::string& canonical,
               std::shared_ptr<const CacheEntry> entry, uint64_t removals_seen);
  uint64_t removals() const { return removals_.load(); }
  static constexpr size_t kRemovalsKept = 1024;
  // Called by the writer once entry is durable: unpins it (no effect if digest now holds another).
  void markWritten(const Digest& digest, const CacheEntry* entry);
  // Removes digest's entry if it is entry (a refused or failed write).
  void eraseIfSame(const Digest& digest, const CacheEntry* entry);
  // Called when digest's record left the database: removes the entry unless it is pinned (a newer
  // insert that will replace the record).
  void eraseUnpinned(const Digest& digest);

  uint64_t bytes() const;
  size_t size() const;

 private:
  struct Slot {
    std::string canonical;
    std::shared_ptr<const CacheEntry> entry;
    bool pinned = false;
    std::list<Digest>::iterator age;  // position in lru_; valid only when !pinned
  };
  using Map = std::unordered_map<Digest, Slot, DigestHash>;
  static uint64_t sizeOf(const Slot& slot);
  void eraseLocked(Map::iterator it);
  void trimLocked();
  bool removedSinceLocked(const Digest& digest, uint64_t removals_seen) const;

  const uint64_t limit_bytes_;
  mutable std::mutex mutex_;
  Map slots_;
  std::list<Digest> lru_;  // unpinned only; front = most recently used
  uint64_t bytes_ = 0;
  std::atomic<uint64_t> removals_{0};  // eraseUnpinned calls, written under mutex_
  std::deque<std::pair<Digest, uint64_t>> recent_removals_;  // the last kRemovalsKept, numbered
};

}  // namespace arkroute::cache
