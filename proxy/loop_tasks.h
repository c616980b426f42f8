// A thread-safe queue of tasks that run on one event loop: any thread may post(); the tasks run
// in order on the loop's thread, woken through an eventfd. This is the only way other threads
// reach a worker's loop (stop, reload, coalescing results, shaping grants), which lets worker
// loops run without libevent's internal locking (EVENT_BASE_FLAG_NOLOCK). A task that throws (a
// bug) is reported on stderr, and the tasks after it run.
#pragma once

#include <event2/event.h>

#include <functional>
#include <mutex>
#include <vector>

namespace arkroute {

class LoopTasks {
 public:
  explicit LoopTasks(event_base* base);
  ~LoopTasks();
  LoopTasks(const LoopTasks&) = delete;
  LoopTasks& operator=(const LoopTasks&) = delete;

  // Queues task to run on the loop. Safe from any thread.
  void post(std::function<void()> task);

 private:
  static void onWake(evutil_socket_t, short, void* arg);
  void runPending();

  int wake_fd_ = -1;
  event* wake_ = nullptr;
  std::mutex mutex_;
  std::vector<std::function<void()>> pending_;
};

}  // namespace arkroute
