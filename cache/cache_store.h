// The storage interface of the content cache, blind to HTTP: bytes under a CacheKey with the
// metadata needed to serve them (content type, model, cost of the original generation, times).
// Implementations (MemoryCacheStore, RocksCacheStore) are thread-safe: lookups may run on event
// loops, inserts never make them wait on a write. Time is always passed in (now_ms), never read.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/cache_key.h"

namespace arkroute::cache {

// How the write of an inserted entry went, for whoever must not hand out a link to it before it
// is durable (url answers). The inserting caller attaches one; the store settles it once the
// accepted insert is durable, or failed to be (a full disk). Read and settled from any thread.
class WriteProgress {
 public:
  enum class State { kPending, kWritten, kFailed };
  State state() const { return state_.load(std::memory_order_acquire); }
  // Once any write of the entry landed it stays written: an entry inserted twice (two url
  // requests keeping the same coalesced answer) whose second write fails is still on disk.
  void settle(bool written) {
    if (written) {
      state_.store(State::kWritten, std::memory_order_release);
      return;
    }
    State pending = State::kPending;
    state_.compare_exchange_strong(pending, State::kFailed, std::memory_order_acq_rel);
  }

 private:
  std::atomic<State> state_{State::kPending};
};

struct CacheEntry {
  std::string body;
  std::string content_type;
  std::string model;     // the model name the client used (what purge-by-model matches)
  double cost_usd = -1;  // cost of the original generation; negative = unknown
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // served while now_ms < expires_ms
  // Set by the code that inserts the entry when it needs to know when the write is durable (see
  // WriteProgress); null otherwise, and for every entry read back from a store (durable already).
  std::shared_ptr<WriteProgress> write;
};

enum class LookupStatus { kHit, kMiss, kExpired, kCorrupt, kKeyMismatch };
// "hit", "miss", "expired", "corrupt", "key_mismatch": for logs and metrics labels.
std::string_view toString(LookupStatus status);

struct LookupResult {
  LookupStatus status = LookupStatus::kMiss;
  std::shared_ptr<const CacheEntry> entry;  // set on kHit only; shared, immutable, caller may keep
};

// A snapshot of a store's counters. entries/bytes are the current totals (bytes as the store
// accounts them: encoded record size for RocksDB); the rest count events since the store opened.
// misses include expired, corrupt and key-mismatch lookups.
struct CacheStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t expired = 0;
  uint64_t corrupt = 0;
  uint64_t evictions = 0;
  uint64_t dropped_writes = 0;  // inserts not stored: over the pending bound, too big, or failed
  uint64_t memory_bytes = 0;    // entries held in memory (RocksDB: the hot set in front of it)
};

// 32 random bytes (OpenSSL's RAND_bytes).
std::string newUrlSecret();

class CacheStore {
 public:
  virtual ~CacheStore() = default;

  // Any thread. Never returns an expired entry (it may be deleted); a record whose canonical text
  // differs from key's is kKeyMismatch; a record that fails to decode is deleted, counted and
  // reported kCorrupt. Every status but kHit is a miss. May wait on the disk: event loops ask
  // findInMemory() first and leave the rest to another thread.
  virtual LookupResult lookup(const CacheKey& key, int64_t now_ms) = 0;

  // Never waits: the entry for key when it is held in memory and valid, counted as a hit;
  // otherwise nullptr and nothing counted (lookup() decides, and counts, what it is).
  virtual std::shared_ptr<const CacheEntry> findInMemory(const CacheKey& key, int64_t now_ms) = 0;

  // For gateway-issued image URLs, whose id is our own digest: as lookup, minus the canonical-text
  // comparison (there is no request to compare with).
  virtual LookupResult lookupByDigest(const Digest& digest, int64_t now_ms) = 0;

  // Called after a complete, cacheable upstream response. Stores entry under key, replacing any
  // entry there. Never waits for a write: the entry is visible to lookups on return, durable after
  // flush(), or once its entry->write (when set) is settled kWritten. An entry larger than the size
  // cap, one that would overflow the pending-write bound, or any entry once the store has stopped
  // writing (a full disk) is dropped and counted in dropped_writes. Returns whether the entry was
  // kept (entry->write is settled only for a kept entry).
  virtual bool insert(const CacheKey& key, std::shared_ptr<const CacheEntry> entry) = 0;
  bool insert(const CacheKey& key, CacheEntry entry) {
    return insert(key, std::make_shared<const CacheEntry>(std::move(entry)));
  }
  // Whether insert would keep an entry of entry_bytes (body + canonical text) now: kNow; kLater
  // when only the writes still pending stand in the way (the writer is behind); kNever when it is
  // larger than a bound or the store has stopped writing. Never waits.
  enum class Room { kNow, kLater, kNever };
  virtual Room roomFor(uint64_t entry_bytes) const { return Room::kNow; }

  // Blocks until every insert accepted before the call is durable in the store (shutdown, tests).
  virtual void flush() = 0;

  // Admin: removes every entry, or those whose entry.model == *model. Returns how many. Blocks;
  // call it off the event loops.
  virtual uint64_t purge(const std::optional<std::string>& model) = 0;

  // Called periodically off the event loops: removes expired entries, doing a bounded amount of
  // work per call (call again to continue). Returns how many were removed.
  virtual uint64_t sweepExpired(int64_t now_ms) = 0;

  // Changes the size cap; evicts the oldest entries (by created_ms) until the total fits. Blocks.
  virtual void setMaxBytes(uint64_t max_bytes) = 0;

  virtual CacheStats stats() const = 0;

  // The key of the tags that make the gateway's image URLs unguessable (proxy/cached_images.h):
  // random, and kept as long as the entries (a persistent store keeps it in its database).
  const std::string& urlSecret() const { return url_secret_; }

 protected:
  std::string url_secret_ = newUrlSecret();
};

// The status a stored entry gives a lookup: key mismatch when wanted_canonical is set and differs
// from stored_canonical, else expired when now_ms >= expires_ms, else hit. Shared by the backends.
LookupStatus judgeStoredEntry(std::string_view stored_canonical, const CacheEntry& entry,
                              const std::string* wanted_canonical, int64_t now_ms);

}  // namespace arkroute::cache
