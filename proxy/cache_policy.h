// Per-request cache control, read from the client's headers: `Cache-Control: no-cache` (skip the
// lookup, refresh the entry), `Cache-Control: no-store` (neither read nor write) and
// `X-ArkRoute-Cache-TTL: <seconds>` (shorten the stored entry's lifetime; never lengthen it).
#pragma once

#include <chrono>
#include <optional>

#include "proxy/http/headers.h"

namespace arkroute {

struct CachePolicy {
  bool read = true;
  bool write = true;
  std::optional<std::chrono::milliseconds> ttl;  // from X-ArkRoute-Cache-TTL

  // Combines the request headers with the configured default TTL. Malformed TTL values are
  // ignored (the configured TTL applies); a TTL of 0 means "do not store".
  static CachePolicy fromHeaders(const http::Headers& headers);
  std::chrono::milliseconds effectiveTtl(std::chrono::milliseconds configured) const;
};

}  // namespace arkroute
