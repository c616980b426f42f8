// BlockingPool: a shared FIFO drained by a fixed set of threads.
#include "proxy/blocking_pool.h"

#include <string>

#include "proxy/internal_failure.h"
#include "proxy/thread_name.h"

namespace arkroute {

BlockingPool::BlockingPool(size_t threads, std::string_view name) : name_(name) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
    nameThread(threads_.back(), std::string(name) + "-" + std::to_string(i));
  }
}

BlockingPool::~BlockingPool() {
  stop();
}

void BlockingPool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      queued_.notify_one();
      return;
    }
  }
  runJob(job);
}

void BlockingPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void BlockingPool::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    queued_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and nothing is left to run
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    runJob(job);
    lock.lock();
  }
}

void BlockingPool::runJob(const std::function<void()>& job) const {
  try {
    job();
  } catch (...) {
    reportCurrentException("a job on the " + name_ + " pool");
  }
}

std::function<void()> continuationOf(const std::function<std::function<void()>()>& job,
                                     std::function<void()> if_failed) {
  try {
    return job();
  } catch (...) {
    reportCurrentException("work off the event loop");
    return if_failed;
  }
}

}  // namespace arkroute
