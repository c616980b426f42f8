// A token bucket refilled continuously: `per_minute` tokens a minute, holding at most
// `per_minute`. Time is passed in (ms), never read here, so limits are tested without sleeping.
// Not thread-safe: its owner locks.
#pragma once

#include <cstdint>

namespace arkroute {

class TokenBucket {
 public:
  TokenBucket(int per_minute, int64_t now_ms);

  // Takes n tokens when there are enough; else takes nothing.
  bool tryTake(double n, int64_t now_ms);
  // Whole tokens left at now_ms.
  int remaining(int64_t now_ms);
  // Milliseconds until n tokens are available (0 when they are now).
  int64_t msUntil(double n, int64_t now_ms);
  // Milliseconds until the bucket is full again.
  int64_t msUntilFull(int64_t now_ms);
  int perMinute() const { return per_minute_; }
  // Empties the bucket (a provider said 429): nothing is granted until it refills.
  void drain(int64_t now_ms);
  void setRate(int per_minute, int64_t now_ms);

 private:
  void refill(int64_t now_ms);

  int per_minute_;
  double tokens_;
  int64_t last_ms_;
};

}  // namespace arkroute
