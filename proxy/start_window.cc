// Sliding-window start counting for upstream rpm limits.
#include "proxy/start_window.h"

#include <algorithm>

namespace arkroute {

void StartWindow::forgetBefore(int64_t now_ms) {
  while (!starts_.empty() && starts_.front() <= now_ms - kWindowMs) starts_.pop_front();
  while (starts_.size() > static_cast<size_t>(std::max(per_minute_, 0))) starts_.pop_front();
}

int64_t StartWindow::msUntilNext(int64_t now_ms) {
  forgetBefore(now_ms);
  int64_t wait = std::max<int64_t>(not_before_ms_ - now_ms, 0);
  if (per_minute_ > 0 && starts_.size() >= static_cast<size_t>(per_minute_)) {
    wait = std::max(wait, starts_.front() + kWindowMs - now_ms);
  }
  return wait;
}

void StartWindow::take(int64_t now_ms) {
  forgetBefore(now_ms);
  starts_.push_back(now_ms);
}

void StartWindow::drain(int64_t now_ms) {
  if (per_minute_ <= 0) return;
  not_before_ms_ = std::max(not_before_ms_, now_ms + kWindowMs / per_minute_);
}

void StartWindow::setRate(int per_minute) {
  per_minute_ = per_minute;
}

}  // namespace arkroute
