// A sliding one-minute window of request starts: at most `per_minute` starts in any 60 s, as
// providers count their rpm. (A token bucket that starts full lets up to twice that through in a
// minute: its burst, then its refill.) Time is passed in (ms), never read here, so limits are
// tested without sleeping. Not thread-safe: its owner locks.
#pragma once

#include <cstdint>
#include <deque>

namespace arkroute {

class StartWindow {
 public:
  explicit StartWindow(int per_minute) : per_minute_(per_minute) {}

  // Milliseconds until one more start is allowed (0 when it is now).
  int64_t msUntilNext(int64_t now_ms);
  // Counts a start at now_ms (the caller checked msUntilNext first).
  void take(int64_t now_ms);
  // A provider said 429: the next start waits one interval (60 s / per_minute) from now.
  void drain(int64_t now_ms);
  void setRate(int per_minute);

 private:
  void forgetBefore(int64_t now_ms);

  static constexpr int64_t kWindowMs = 60'000;
  int per_minute_;
  std::deque<int64_t> starts_;  // the starts of the last minute, oldest first
  int64_t not_before_ms_ = 0;
};

}  // namespace arkroute
