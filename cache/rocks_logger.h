// RocksDB's own diagnostics (its "info log") go to the gateway's stderr, warnings and errors only,
// instead of LOG files next to the data. Two reasons: a service's messages belong in one place
// (journald), and with the database's disk full, Debian's RocksDB 7.8 aborts the process on the
// next message after a failed LOG write (its WritableFileWriter keeps a debug assertion). At most
// 30 lines a minute; the rest are counted and the count is reported.
#pragma once

#include <rocksdb/env.h>

#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <mutex>

namespace arkroute::cache {

class StderrRocksLogger : public rocksdb::Logger {
 public:
  static constexpr int kLinesPerMinute = 30;
  StderrRocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::time_point window_start_;
  int lines_in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace arkroute::cache
