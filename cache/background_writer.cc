// BackgroundWriter: a byte-bounded FIFO drained by one thread.
#include "cache/background_writer.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

namespace arkroute::cache {

BackgroundWriter::BackgroundWriter(uint64_t max_pending_bytes, WriteFunction write)
    : max_pending_bytes_(max_pending_bytes), write_(std::move(write)), thread_([this] { run(); }) {
  pthread_setname_np(thread_.native_handle(), "ark-cache-write");  // what top -H and perf show
}

BackgroundWriter::~BackgroundWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  job_queued_.notify_all();
  thread_.join();
}

bool BackgroundWriter::enqueue(Job job) {
  uint64_t size = sizeOf(job);
  {
    std::lock_guard lock(mutex_);
    if (size > max_pending_bytes_ - pending_bytes_) return false;
    pending_bytes_ += size;
    ++accepted_;
    queue_.push_back(std::move(job));
  }
  job_queued_.notify_one();
  return true;
}

void BackgroundWriter::flush() {
  std::unique_lock lock(mutex_);
  uint64_t target = accepted_;
  job_written_.wait(lock, [&] { return written_ >= target; });
}

uint64_t BackgroundWriter::pendingBytes() const {
  std::lock_guard lock(mutex_);
  return pending_bytes_;
}

void BackgroundWriter::run() {
  // Storing yields the CPU to serving: a worker answering a client runs first. Never raised: a
  // gateway started at a higher nice keeps it.
  auto thread = static_cast<id_t>(gettid());
  errno = 0;
  int current = getpriority(PRIO_PROCESS, thread);
  if (errno == 0 && current < kNice) setpriority(PRIO_PROCESS, thread, kNice);
  std::unique_lock lock(mutex_);
  while (true) {
    job_queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything accepted has been written
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    write_(job);
    lock.lock();
    pending_bytes_ -= sizeOf(job);
    ++written_;
    job_written_.notify_all();
  }
}

}  // namespace arkroute::cache
