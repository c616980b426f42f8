// RocksDB's warnings and errors to stderr, rate-limited.
#include "cache/rocks_logger.h"

#include <algorithm>
#include <cstdio>

namespace arkroute::cache {

void StderrRocksLogger::Logv(const char* format, va_list ap) {
  char line[1024];
  int length = std::vsnprintf(line, sizeof line, format, ap);
  if (length < 0) return;
  size_t end = std::min(static_cast<size_t>(length), sizeof line - 1);
  while (end > 0 && (line[end - 1] == '\n' || line[end - 1] == '\r')) line[--end] = '\0';
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= std::chrono::minutes(1)) {
    if (suppressed_ > 0) {
      std::fprintf(stderr, "arkroute: rocksdb: %llu more messages not shown\n",
                   static_cast<unsigned long long>(suppressed_));
    }
    window_start_ = now;
    lines_in_window_ = 0;
    suppressed_ = 0;
  }
  if (lines_in_window_ >= kLinesPerMinute) {
    ++suppressed_;
    return;
  }
  ++lines_in_window_;
  std::fprintf(stderr, "arkroute: rocksdb: %s\n", line);
}

}  // namespace arkroute::cache
