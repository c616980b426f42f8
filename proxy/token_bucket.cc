// Token bucket arithmetic.
#include "proxy/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace arkroute {

TokenBucket::TokenBucket(int per_minute, int64_t now_ms)
    : per_minute_(per_minute), tokens_(per_minute), last_ms_(now_ms) {}

void TokenBucket::refill(int64_t now_ms) {
  if (now_ms <= last_ms_) return;
  tokens_ = std::min<double>(per_minute_, tokens_ + (now_ms - last_ms_) * per_minute_ / 60000.0);
  last_ms_ = now_ms;
}

bool TokenBucket::tryTake(double n, int64_t now_ms) {
  refill(now_ms);
  if (tokens_ + 1e-9 < n) return false;
  tokens_ -= n;
  return true;
}

int TokenBucket::remaining(int64_t now_ms) {
  refill(now_ms);
  return static_cast<int>(std::floor(tokens_ + 1e-9));
}

int64_t TokenBucket::msUntil(double n, int64_t now_ms) {
  refill(now_ms);
  if (tokens_ + 1e-9 >= n || per_minute_ <= 0) return 0;
  return static_cast<int64_t>(std::ceil((n - tokens_) * 60000.0 / per_minute_));
}

int64_t TokenBucket::msUntilFull(int64_t now_ms) {
  return msUntil(per_minute_, now_ms);
}

void TokenBucket::drain(int64_t now_ms) {
  refill(now_ms);
  tokens_ = std::min(tokens_, 0.0);
}

void TokenBucket::setRate(int per_minute, int64_t now_ms) {
  refill(now_ms);
  per_minute_ = per_minute;
  tokens_ = std::min<double>(tokens_, per_minute);
}

}  // namespace arkroute
