// The storage interface of the content cache, blind to HTTP: bytes under a CacheKey, with the
// metadata needed to serve them (content type, model, cost of the original generation, times).
// Implementations are thread-safe; lookups may run on event loops, inserts never block them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/cache_key.h"

namespace arkroute::cache {

struct CacheEntry {
  std::string body;
  std::string content_type;
  std::string model;
  double cost_usd = -1;  // cost of the original generation; negative = unknown
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
};

enum class LookupStatus { kHit, kMiss, kExpired, kCorrupt, kKeyMismatch };
std::string_view toString(LookupStatus status);

struct LookupResult {
  LookupStatus status = LookupStatus::kMiss;
  std::shared_ptr<const CacheEntry> entry;  // set on kHit only
};

struct CacheStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t expired = 0;
  uint64_t corrupt = 0;
  uint64_t evictions = 0;
  uint64_t dropped_writes = 0;
};

class CacheStore {
 public:
  virtual ~CacheStore() = default;
  // Called on the request path. An expired entry is never returned; a record whose canonical
  // text differs from key's is a miss; an undecodable record is deleted and reported kCorrupt.
  virtual LookupResult lookup(const CacheKey& key, int64_t now_ms) = 0;
  // For gateway-issued image URLs: the id is our own digest, so the text is not compared.
  virtual LookupResult lookupByDigest(const Digest& digest, int64_t now_ms) = 0;
  // Stores entry under key (replacing any). May return before the write is durable.
  virtual void insert(const CacheKey& key, CacheEntry entry) = 0;
  // Waits until every accepted insert is written.
  virtual void flush() = 0;
  // Removes every entry, or those whose entry.model == *model. Returns how many.
  virtual uint64_t purge(const std::optional<std::string>& model) = 0;
  // Removes expired entries (bounded work per call). Returns how many.
  virtual uint64_t sweepExpired(int64_t now_ms) = 0;
  virtual CacheStats stats() const = 0;
};

// Shared counters for implementations.
struct StoreCounters {
  std::atomic<uint64_t> hits{0}, misses{0}, expired{0}, corrupt{0}, evictions{0}, dropped{0};
  void count(LookupStatus status);
};

// Encodes/decodes the stored record: format version, canonical text, times, cost, content type,
// model, body, and an XXH3-64 checksum over all of it (a torn or altered record fails to decode).
std::string encodeRecord(std::string_view canonical, const CacheEntry& entry);
bool decodeRecord(std::string_view bytes, std::string* canonical, CacheEntry* entry);

}  // namespace arkroute::cache
