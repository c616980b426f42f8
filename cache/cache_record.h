// The bytes of one stored cache record (RocksDB "cache" family value). Layout, integers
// little-endian: magic "ARKC", format version (1 byte), canonical key text, created_ms, expires_ms,
// cost_usd (IEEE double bits), content_type, model, body — strings as a u64 length then the bytes —
// and last an XXH3-64 checksum of everything before it, so a torn, truncated or altered record
// fails to decode instead of being served.
#pragma once

#include <string>
#include <string_view>

#include "cache/cache_store.h"

namespace arkroute::cache {

inline constexpr uint8_t kRecordFormatVersion = 1;

// Called on the background writer thread. Returns the record bytes (owned by the caller).
std::string encodeRecord(std::string_view canonical, const CacheEntry& entry);

// Called on lookups. True and the fields filled in when bytes are a complete, intact record of
// this format version; false (outputs unspecified) otherwise.
bool decodeRecord(std::string_view bytes, std::string* canonical, CacheEntry* entry);

}  // namespace arkroute::cache
