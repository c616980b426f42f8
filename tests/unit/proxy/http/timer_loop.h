// A bare libevent loop for the timer tests: run a function after a delay, run for a bounded time.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>

namespace arkroute::http::testing {

struct TimerLoop {
  event_base* base = event_base_new();
  TimerLoop() = default;
  TimerLoop(const TimerLoop&) = delete;
  TimerLoop& operator=(const TimerLoop&) = delete;
  ~TimerLoop() { event_base_free(base); }

  // Runs fn after `after` on the loop.
  void at(std::chrono::milliseconds after, std::function<void()> fn) {
    auto* task = new std::function<void()>(std::move(fn));
    timeval tv{0, static_cast<suseconds_t>(after.count() * 1000)};
    event_base_once(
        base, -1, EV_TIMEOUT,
        [](evutil_socket_t, short, void* arg) {
          auto* owned = static_cast<std::function<void()>*>(arg);
          (*owned)();
          delete owned;
        },
        task, &tv);
  }
  // Runs the loop until it has nothing left or `limit` has passed.
  void run(std::chrono::milliseconds limit) {
    at(limit, [this] { event_base_loopbreak(base); });
    event_base_dispatch(base);
  }
};

}  // namespace arkroute::http::testing
