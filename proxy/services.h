// Process-wide services shared by every worker thread, owned by the Gateway and thread-safe: the
// cache store and the coalescer (both null when the cache is disabled) and the wall clock (in
// milliseconds since the epoch; injected so tests and TTL logic can control time).
#pragma once

#include <cstdint>
#include <functional>

namespace arkroute {

namespace cache {
class CacheStore;
class Coalescer;
}  // namespace cache

struct Services {
  cache::CacheStore* store = nullptr;
  cache::Coalescer* coalescer = nullptr;
  std::function<int64_t()> now_ms;
};

int64_t systemNowMs();

}  // namespace arkroute
