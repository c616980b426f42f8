// How large a cache directory can grow on its disk: for the warning `check` and `serve` give when
// cache.max_bytes is more than the disk can hold (the disk would fill before the cache evicts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "conf/config.h"

namespace arkroute {

struct DiskRoom {
  uint64_t available = 0;  // free bytes an unprivileged writer may use, on path's filesystem
  uint64_t held = 0;       // bytes in the regular files already under path (0 if it is new)
};

// nullopt when neither path nor any parent of it can be examined.
std::optional<DiskRoom> diskRoomFor(const std::string& path);

// What check and serve print when cache.max_bytes is more than the cache's disk can hold (free
// space plus what the cache already holds, less what RocksDB needs besides the records): the
// disk would fill before the cache evicts, and storing would stop. nullopt when it fits, when the
// cache is off, or when the disk cannot be examined.
std::optional<std::string> cacheDiskWarning(const CacheConfig& cache);

// Why the state database cannot live at path (which serve would only find when it opens it): it,
// or the nearest part of it that exists, is not a directory. nullopt when path is empty, a
// directory or under one, or cannot be examined.
std::optional<std::string> cachePathProblem(const std::string& path);
// A warning when this user could not write there: the service may run as another user (systemd's
// DynamicUser), so check cannot call it an error.
std::optional<std::string> cachePathWarning(const std::string& path);

// "20 GiB", "512 MiB", "900 KiB": a size for messages, to one decimal.
std::string humanBytes(uint64_t bytes);

}  // namespace arkroute
