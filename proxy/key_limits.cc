// Rate limits and budget reservations per virtual key.
#include "proxy/key_limits.h"

#include <algorithm>

namespace arkroute {

KeyLimits::State& KeyLimits::stateFor(const VirtualKey& key, int64_t now_ms) {
  State& state = states_[key.id];
  // Limits may change when a key is recreated or the config reloads: follow the key's values.
  auto sync = [now_ms](std::optional<TokenBucket>& bucket, int per_minute) {
    if (per_minute <= 0) {
      bucket.reset();
    } else if (!bucket) {
      bucket.emplace(per_minute, now_ms);
    } else if (bucket->perMinute() != per_minute) {
      bucket->setRate(per_minute, now_ms);
    }
  };
  sync(state.requests, key.rpm);
  sync(state.images, key.images_per_min);
  return state;
}

RateDecision KeyLimits::takeRequest(const VirtualKey& key, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  State& state = stateFor(key, now_ms);
  RateDecision decision;
  if (!state.requests) return decision;
  TokenBucket& bucket = *state.requests;
  decision.limit = bucket.perMinute();
  decision.allowed = bucket.tryTake(1, now_ms);
  if (!decision.allowed) decision.retry_after_ms = bucket.msUntil(1, now_ms);
  decision.remaining = bucket.remaining(now_ms);
  decision.reset_ms = bucket.msUntilFull(now_ms);
  return decision;
}

bool KeyLimits::takeImages(const VirtualKey& key, int n, int64_t now_ms, int64_t* retry_after_ms) {
  std::lock_guard lock(mutex_);
  State& state = stateFor(key, now_ms);
  if (!state.images) return true;
  if (n > state.images->perMinute()) {  // can never fit: say so rather than wait forever
    *retry_after_ms = 60'000;
    return false;
  }
  if (state.images->tryTake(n, now_ms)) return true;
  *retry_after_ms = state.images->msUntil(n, now_ms);
  return false;
}

std::optional<double> KeyLimits::reserve(const VirtualKey& key, std::optional<double> estimate,
                                         const std::function<double()>& spent, double* remaining,
                                         bool* fits_once_settled) {
  std::lock_guard lock(mutex_);
  State& state = states_[key.id];
  if (!key.budget_usd) {
    *remaining = -1;
    state.reserved += estimate.value_or(0.0);
    return estimate.value_or(0.0);
  }
  double unreserved = *key.budget_usd - spent();
  double balance = unreserved - state.reserved;
  *remaining = balance;
  double amount = estimate.value_or(0.0);
  auto fits = [&](double left) {
    constexpr double kSlack = 1e-9;  // rounding
    return estimate ? amount <= left + kSlack : left > kSlack;
  };
  if (!fits(balance)) {
    if (fits_once_settled) *fits_once_settled = fits(unreserved);
    return std::nullopt;
  }
  state.reserved += amount;
  return amount;
}

void KeyLimits::release(const std::string& key_id, double reserved) {
  std::lock_guard lock(mutex_);
  auto it = states_.find(key_id);
  if (it == states_.end()) return;
  it->second.reserved -= reserved;
  if (it->second.reserved < 1e-12) it->second.reserved = 0;
}

std::string formatResetDuration(int64_t ms) {
  if (ms < 1000) return std::to_string(std::max<int64_t>(ms, 0)) + "ms";
  int64_t seconds = (ms + 999) / 1000;
  if (seconds < 60) return std::to_string(seconds) + "s";
  return std::to_string(seconds / 60) + "m" + std::to_string(seconds % 60) + "s";
}

}  // namespace arkroute
