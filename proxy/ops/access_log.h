// The JSON access log ([log] access_log): one line per finished request, to stdout (journald
// under systemd) or appended to a file. A RequestObserver: the worker thread formats the line and
// puts it in a bounded queue; a background thread does every write (at most one per 10 ms under
// load, so a line costs a worker no syscall), and the event loop never waits on a disk or a pipe.
// When the queue is full (the output is stuck or too slow) the line is dropped and counted
// (dropped()), never waited for. What a line contains: access_log_line.h.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/request_record.h"

namespace arkroute::ops {

class AccessLog : public RequestObserver {
 public:
  struct Options {
    size_t max_queued_lines = 16384;  // lines waiting for the writer thread; beyond: dropped
  };

  // target: "stdout", or a file path (created with mode 0640 if missing, appended to). The
  // caller registers no AccessLog at all for "off". nullptr and *error when the file cannot be
  // opened.
  static std::shared_ptr<AccessLog> open(const std::string& target, Options options,
                                         std::string* error);
  // What would certainly make open(target) fail, without creating anything (for `arkroute
  // check`): its directory is missing, or it is a directory. "" otherwise: permissions are not
  // judged, since the service's user may differ from the one running the check.
  static std::string whyNotWritable(const std::string& target);
  // Writes to fd, which the caller keeps open (and closes) after stop(). For tests.
  static std::shared_ptr<AccessLog> toDescriptor(int fd, Options options);

  ~AccessLog() override;
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Formats the line and queues it. Thread-safe; never blocks on I/O.
  void onRequestFinished(const RequestRecord& record) override;
  // Writes what is queued, then ends the writer thread. Lines arriving later are dropped.
  // Idempotent; also done by the destructor.
  void stop();
  // Makes the writer reopen the file before its next write (after logrotate moved it).
  // Thread-safe; nothing to do for stdout.
  void reopen();

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t writeErrors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  AccessLog(int fd, bool owns_fd, std::string path, Options options);
  void run();
  void writeAll(const std::string& text, size_t lines);
  void reopenFile();

  int fd_;
  bool owns_fd_;
  std::string path_;  // "" for stdout or a caller's descriptor
  Options options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::string> queue_;
  bool stopping_ = false;
  bool reopen_wanted_ = false;
  bool writer_idle_ = false;  // waiting for a first line: a new line must wake it
  static constexpr std::chrono::milliseconds kBatchPause{10};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::thread writer_;
};

}  // namespace arkroute::ops
