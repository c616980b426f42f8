// Names of lookup statuses, the shared rule deciding what a stored entry gives a lookup, and a
// new URL secret.
#include "cache/cache_store.h"

#include <openssl/rand.h>

#include <stdexcept>

namespace arkroute::cache {

std::string newUrlSecret() {
  std::string secret(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1) {
    throw std::runtime_error("no random bytes for the cache's URL secret");
  }
  return secret;
}

std::string_view toString(LookupStatus status) {
  switch (status) {
    case LookupStatus::kHit:
      return "hit";
    case LookupStatus::kMiss:
      return "miss";
    case LookupStatus::kExpired:
      return "expired";
    case LookupStatus::kCorrupt:
      return "corrupt";
    case LookupStatus::kKeyMismatch:
      return "key_mismatch";
  }
  return "unknown";
}

LookupStatus judgeStoredEntry(std::string_view stored_canonical, const CacheEntry& entry,
                              const std::string* wanted_canonical, int64_t now_ms) {
  if (wanted_canonical && stored_canonical != *wanted_canonical) return LookupStatus::kKeyMismatch;
  if (now_ms >= entry.expires_ms) return LookupStatus::kExpired;
  return LookupStatus::kHit;
}

}  // namespace arkroute::cache
