// Per-key admission state shared by every worker: the request and image rate limits (token
// buckets) and the budget reservations. Admission reserves a request's estimated cost; the log
// phase releases the reservation once the ledger has the actual cost, so under concurrency a key
// overspends by at most what one request costs beyond its estimate. Thread-safe; time is passed in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "proxy/token_bucket.h"
#include "proxy/virtual_keys.h"

namespace arkroute {

struct RateDecision {
  bool allowed = true;
  int limit = 0;               // requests per minute (0: the key has no request limit)
  int remaining = 0;           // after this request
  int64_t reset_ms = 0;        // until the bucket is full again
  int64_t retry_after_ms = 0;  // when refused: until one request is allowed
};

class KeyLimits {
 public:
  // Counts one request against the key's requests-per-minute.
  RateDecision takeRequest(const VirtualKey& key, int64_t now_ms);
  // Counts n images against the key's images-per-minute; false + *retry_after_ms when over.
  bool takeImages(const VirtualKey& key, int n, int64_t now_ms, int64_t* retry_after_ms);

  // Reserves `estimate` (nullopt: unknown price, reserves nothing but needs a positive balance)
  // when spent + reserved + estimate fits the key's budget. Returns the amount reserved, or
  // nullopt when the budget does not allow it; *remaining is the balance before this request.
  // spent (the ledger's total for the key) is read under the same lock as the reservations: a
  // request that finishes meanwhile adds its cost to the ledger before it releases its
  // reservation, so its cost is counted once here, never in neither. When refused,
  // *fits_once_settled (if given) says whether the request would fit were every reservation of
  // requests in flight released: only then may a retry succeed.
  std::optional<double> reserve(const VirtualKey& key, std::optional<double> estimate,
                                const std::function<double()>& spent, double* remaining,
                                bool* fits_once_settled = nullptr);
  void release(const std::string& key_id, double reserved);

 private:
  struct State {
    std::optional<TokenBucket> requests;
    std::optional<TokenBucket> images;
    double reserved = 0;
  };
  State& stateFor(const VirtualKey& key, int64_t now_ms);

  std::mutex mutex_;
  std::map<std::string, State, std::less<>> states_;
};

// OpenAI-style reset durations for x-ratelimit-reset-*: "250ms", "12s", "1m30s".
std::string formatResetDuration(int64_t ms);

}  // namespace arkroute
