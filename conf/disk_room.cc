// Free space and current size of a cache directory (statvfs and a walk of its files).
#include "conf/disk_room.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

namespace arkroute {

namespace {

// The directory itself when it exists, else its nearest existing parent (a new cache).
std::optional<std::filesystem::path> nearestExisting(const std::string& path) {
  std::error_code error;
  std::filesystem::path at = std::filesystem::absolute(path, error);
  if (error) return std::nullopt;
  while (!std::filesystem::exists(at, error)) {
    if (!at.has_parent_path() || at.parent_path() == at) return std::nullopt;
    at = at.parent_path();
  }
  return at;
}

}  // namespace

std::optional<std::string> cachePathProblem(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto existing = nearestExisting(path);
  if (!existing) return std::nullopt;
  std::error_code error;
  if (!std::filesystem::is_directory(*existing, error)) {
    return "cache.path '" + path + "': " + existing->string() + " is not a directory";
  }
  return std::nullopt;
}

std::optional<std::string> cachePathWarning(const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto existing = nearestExisting(path);
  std::error_code error;
  if (!existing || !std::filesystem::is_directory(*existing, error)) return std::nullopt;
  if (access(existing->c_str(), W_OK | X_OK) == 0) return std::nullopt;
  return "cache.path '" + path + "': " + existing->string() +
         " is not writable by this user (fine if the gateway runs as another, such as the "
         "service's own)";
}

namespace {

uint64_t bytesUnder(const std::string& path) {
  uint64_t total = 0;
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(path, error), end;
  for (; !error && it != end; it.increment(error)) {
    if (it->is_regular_file(error)) total += it->file_size(error);
  }
  return total;
}

}  // namespace

std::optional<DiskRoom> diskRoomFor(const std::string& path) {
  auto existing = nearestExisting(path);
  struct statvfs stats;
  if (!existing || statvfs(existing->c_str(), &stats) != 0) return std::nullopt;
  DiskRoom room;
  room.available = static_cast<uint64_t>(stats.f_bavail) * stats.f_frsize;
  room.held = bytesUnder(path);
  return room;
}

// RocksDB needs room besides the records: its write-ahead log (up to 128 MiB), memtables being
// flushed, files being compacted.
constexpr uint64_t kDatabaseOverheadBytes = 512ULL << 20;

std::optional<std::string> cacheDiskWarning(const CacheConfig& cache) {
  if (!cache.enabled || cache.path.empty()) return std::nullopt;
  auto room = diskRoomFor(cache.path);
  if (!room) return std::nullopt;
  uint64_t can_hold = room->available + room->held;
  if (can_hold >= kDatabaseOverheadBytes && cache.max_bytes <= can_hold - kDatabaseOverheadBytes) {
    return std::nullopt;
  }
  return "cache.max_bytes (" + humanBytes(cache.max_bytes) + ") is more than the disk under " +
         cache.path + " can hold (" + humanBytes(room->available) + " free, " +
         humanBytes(room->held) + " used by the cache, and RocksDB needs about " +
         humanBytes(kDatabaseOverheadBytes) +
         " more): the disk will fill before the cache evicts, and storing stops then";
}

std::string humanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

}  // namespace arkroute
