// A thread-safe queue of tasks that run on one event loop: any thread may post(); the tasks run
// in order on the loop's thread (woken through event_active). Used to stop workers and to resume
// requests that waited on work done by another thread (cache coalescing).
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

  // Queues task to run on the loop. Safe from any thread (libevent must use pthreads locking).
  void post(std::function<void()> task);

 private:
  static void onWake(evutil_socket_t, short, void* arg);
  void runPending();

  event* wake_ = nullptr;
  std::mutex mutex_;
  std::vector<std::function<void()>> pending_;
};

}  // namespace arkroute
