// Access log: bounded queue, background writer thread, file (re)opening.
#include "proxy/ops/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "proxy/ops/access_log_line.h"
#include "proxy/thread_name.h"

namespace arkroute::ops {

namespace {

int openAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

}  // namespace

std::shared_ptr<AccessLog> AccessLog::open(const std::string& target, Options options,
                                           std::string* error) {
  if (target == "stdout") {
    return std::shared_ptr<AccessLog>(new AccessLog(STDOUT_FILENO, false, "", options));
  }
  int fd = openAppend(target);
  if (fd < 0) {
    *error = "cannot open access log '" + target + "': " + std::strerror(errno);
    return nullptr;
  }
  return std::shared_ptr<AccessLog>(new AccessLog(fd, true, target, options));
}

std::string AccessLog::whyNotWritable(const std::string& target) {
  if (target == "stdout" || target == "off") return "";
  namespace fs = std::filesystem;
  std::error_code error;
  fs::path path(target);
  fs::file_status status = fs::status(path, error);
  if (!error) {
    if (fs::is_directory(status)) return "cannot open access log '" + target + "': a directory";
    return "";  // it exists: who may write it is the service's user's business, not this one's
  }
  fs::path directory = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  fs::file_status parent = fs::status(directory, error);
  if (error == std::errc::no_such_file_or_directory || (!error && !fs::is_directory(parent))) {
    return "cannot open access log '" + target + "': no directory " + directory.string();
  }
  return "";  // not readable by this user (the service's log directory): not judged here
}

std::shared_ptr<AccessLog> AccessLog::toDescriptor(int fd, Options options) {
  return std::shared_ptr<AccessLog>(new AccessLog(fd, false, "", options));
}

AccessLog::AccessLog(int fd, bool owns_fd, std::string path, Options options)
    : fd_(fd), owns_fd_(owns_fd), path_(std::move(path)), options_(options) {
  writer_ = std::thread([this] { run(); });
  nameThread(writer_, "ark-access-log");
}

AccessLog::~AccessLog() {
  stop();
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

void AccessLog::onRequestFinished(const RequestRecord& record) {
  std::string line = formatAccessLogLine(record);
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < options_.max_queued_lines) {
      queue_.push_back(std::move(line));
      if (writer_idle_) wake_.notify_one();  // under load the writer is pausing: no syscall
      return;
    }
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
}

void AccessLog::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void AccessLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_wanted_ = true;
  }
  wake_.notify_one();
}

void AccessLog::run() {
  std::vector<std::string> batch;
  std::string text;
  for (;;) {
    bool reopen = false;
    {
      std::unique_lock lock(mutex_);
      if (queue_.empty() && !stopping_ && !reopen_wanted_) {
        writer_idle_ = true;
        wake_.wait(lock, [this] { return stopping_ || reopen_wanted_ || !queue_.empty(); });
        writer_idle_ = false;
      }
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
      reopen = reopen_wanted_;
      reopen_wanted_ = false;
    }
    if (reopen) reopenFile();
    text.clear();
    for (const std::string& line : batch) text += line;
    if (!text.empty()) writeAll(text, batch.size());
    batch.clear();
    // Let lines gather: one write per pause under load rather than one per request.
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kBatchPause, [this] { return stopping_; });
  }
}

void AccessLog::writeAll(const std::string& text, size_t lines) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      dropped_.fetch_add(lines, std::memory_order_relaxed);  // approximately: part may be out
      return;
    }
    done += static_cast<size_t>(n);
  }
  written_.fetch_add(lines, std::memory_order_relaxed);
}

void AccessLog::reopenFile() {
  if (!owns_fd_ || path_.empty()) return;
  int fd = openAppend(path_);
  if (fd < 0) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    return;  // keep writing to the old file rather than losing lines
  }
  ::close(fd_);
  fd_ = fd;
}

}  // namespace arkroute::ops
