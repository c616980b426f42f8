// Cross-thread task posting onto a libevent loop, woken through an eventfd.
#include "proxy/loop_tasks.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

#include "proxy/internal_failure.h"

namespace arkroute {

LoopTasks::LoopTasks(event_base* base) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
  wake_ = event_new(base, wake_fd_, EV_READ | EV_PERSIST, &LoopTasks::onWake, this);
  event_add(wake_, nullptr);
}

LoopTasks::~LoopTasks() {
  event_free(wake_);
  close(wake_fd_);
}

// Only the post that finds the queue empty writes to the eventfd: the loop takes the whole batch.
void LoopTasks::post(std::function<void()> task) {
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    was_empty = pending_.empty();
    pending_.push_back(std::move(task));
  }
  if (!was_empty) return;
  uint64_t one = 1;
  ssize_t written = write(wake_fd_, &one, sizeof one);
  (void)written;  // only fails when the counter is saturated: the loop is already woken
}

void LoopTasks::onWake(evutil_socket_t fd, short, void* arg) {
  uint64_t count = 0;
  ssize_t got = read(fd, &count, sizeof count);  // resets the counter
  (void)got;
  static_cast<LoopTasks*>(arg)->runPending();
}

void LoopTasks::runPending() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
  }
  for (auto& task : batch) {
    try {
      task();
    } catch (...) {  // a bug in the task: the tasks after it (a stop, a reload) still run
      reportCurrentException("a task on a worker's event loop");
    }
  }
}

}  // namespace arkroute
