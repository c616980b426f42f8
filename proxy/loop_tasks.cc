// Cross-thread task posting onto a libevent loop.
#include "proxy/loop_tasks.h"

namespace arkroute {

LoopTasks::LoopTasks(event_base* base) {
  wake_ = event_new(base, -1, 0, &LoopTasks::onWake, this);
}

LoopTasks::~LoopTasks() {
  event_free(wake_);
}

void LoopTasks::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(task));
  }
  event_active(wake_, EV_READ, 0);
}

void LoopTasks::onWake(evutil_socket_t, short, void* arg) {
  static_cast<LoopTasks*>(arg)->runPending();
}

void LoopTasks::runPending() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
  }
  for (auto& task : batch) task();
}

}  // namespace arkroute
