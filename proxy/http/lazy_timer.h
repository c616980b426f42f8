// A timeout re-armed far more often than it fires, such as a connection's idle or request timer:
// arming stores a deadline and touches libevent only when the pending event would fire too late;
// disarming only forgets the deadline. An event that fires before the deadline (it was set for an
// earlier one) re-arms itself for the rest, so the callback runs once the latest deadline passes.
// A keep-alive connection serving requests back to back thus costs no timer-heap operation per
// request.
#pragma once

#include <event2/event.h>

#include <chrono>

namespace arkroute::http {

class LazyTimer {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = void (*)(void* arg);

  LazyTimer(event_base* base, Callback callback, void* arg);
  ~LazyTimer();
  LazyTimer(const LazyTimer&) = delete;
  LazyTimer& operator=(const LazyTimer&) = delete;

  // The callback runs once `after` has passed, unless arm or disarm is called again before.
  void arm(std::chrono::milliseconds after);
  void disarm() { deadline_ = Clock::time_point::max(); }
  bool armed() const { return deadline_ != Clock::time_point::max(); }

 private:
  static void onEvent(evutil_socket_t, short, void* arg);
  void schedule(Clock::time_point now, Clock::duration after);

  event* event_;
  Callback callback_;
  void* arg_;
  Clock::time_point deadline_ = Clock::time_point::max();  // max: disarmed
  Clock::time_point fires_at_ = Clock::time_point::max();  // max: no event pending
};

}  // namespace arkroute::http
