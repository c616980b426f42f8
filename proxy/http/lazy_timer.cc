// LazyTimer: a deadline kept in memory, backed by one libevent timer that is moved only when it
// would fire too late.
#include "proxy/http/lazy_timer.h"

namespace arkroute::http {

LazyTimer::LazyTimer(event_base* base, Callback callback, void* arg)
    : event_(evtimer_new(base, &LazyTimer::onEvent, this)), callback_(callback), arg_(arg) {}

LazyTimer::~LazyTimer() {
  event_free(event_);
}

void LazyTimer::arm(std::chrono::milliseconds after) {
  Clock::time_point now = Clock::now();
  deadline_ = now + after;
  if (deadline_ < fires_at_) schedule(now, after);
}

void LazyTimer::schedule(Clock::time_point now, Clock::duration after) {
  auto micros = std::chrono::ceil<std::chrono::microseconds>(after).count();
  timeval tv{static_cast<time_t>(micros / 1'000'000), static_cast<suseconds_t>(micros % 1'000'000)};
  evtimer_add(event_, &tv);
  fires_at_ = now + after;
}

void LazyTimer::onEvent(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<LazyTimer*>(arg);
  self->fires_at_ = Clock::time_point::max();
  if (!self->armed()) return;
  Clock::time_point now = Clock::now();
  if (now < self->deadline_) {
    self->schedule(now, self->deadline_ - now);
    return;
  }
  self->disarm();
  self->callback_(self->arg_);  // last: it may destroy the owner, and this timer with it
}

}  // namespace arkroute::http
