// Unit: per-key budgets (reservations under concurrency) and rate limits.
#include "proxy/key_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace arkroute {
namespace {

VirtualKey keyWithBudget(double budget) {
  VirtualKey key;
  key.id = "key_test";
  key.name = "test";
  key.budget_usd = budget;
  return key;
}

std::function<double()> spentOf(double usd) {
  return [usd] { return usd; };
}

TEST(KeyLimits, ConcurrentReservationsNeverExceedTheBudget) {
  KeyLimits limits;
  VirtualKey key = keyWithBudget(1.0);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        double remaining = 0;
        if (limits.reserve(key, 0.03, spentOf(0.0), &remaining)) ++granted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(granted.load(), 33) << "floor(1.00 / 0.03) reservations fit";
}

TEST(KeyLimits, ReleasedReservationsFreeTheBalance) {
  KeyLimits limits;
  VirtualKey key = keyWithBudget(0.10);
  double remaining = 0;
  auto first = limits.reserve(key, 0.08, spentOf(0.0), &remaining);
  ASSERT_TRUE(first);
  EXPECT_FALSE(limits.reserve(key, 0.08, spentOf(0.0), &remaining));
  EXPECT_NEAR(remaining, 0.02, 1e-12);
  limits.release(key.id, *first);
  EXPECT_TRUE(limits.reserve(key, 0.08, spentOf(0.0), &remaining));
  // What the ledger says was spent counts too.
  limits.release(key.id, 0.08);
  EXPECT_FALSE(limits.reserve(key, 0.08, spentOf(0.05), &remaining));
}

TEST(KeyLimits, ARefusalSaysWhetherTheRequestFitsOnceRequestsInFlightSettle) {
  KeyLimits limits;
  VirtualKey key = keyWithBudget(0.10);
  double remaining = 0;
  ASSERT_TRUE(limits.reserve(key, 0.06, spentOf(0.0), &remaining));
  bool fits_once_settled = false;
  EXPECT_FALSE(limits.reserve(key, 0.06, spentOf(0.0), &remaining, &fits_once_settled));
  EXPECT_TRUE(fits_once_settled) << "the one in flight may settle for less";
  EXPECT_FALSE(limits.reserve(key, 0.06, spentOf(0.05), &remaining, &fits_once_settled));
  EXPECT_FALSE(fits_once_settled) << "what was spent stays spent";
  EXPECT_FALSE(limits.reserve(key, std::nullopt, spentOf(0.10), &remaining, &fits_once_settled));
  EXPECT_FALSE(fits_once_settled) << "an unknown price needs a positive balance";
}

TEST(KeyLimits, UnknownPriceNeedsAPositiveBalanceAndUnlimitedKeysAlwaysPass) {
  KeyLimits limits;
  double remaining = 0;
  EXPECT_TRUE(limits.reserve(keyWithBudget(0.01), std::nullopt, spentOf(0.0), &remaining));
  EXPECT_FALSE(limits.reserve(keyWithBudget(0.01), std::nullopt, spentOf(0.01), &remaining));
  VirtualKey unlimited = keyWithBudget(0);
  unlimited.budget_usd.reset();
  EXPECT_TRUE(limits.reserve(unlimited, 1000.0, spentOf(1e6), &remaining));
}

// The ledger's spend is read under the reservations' lock: a release (which comes after the
// finished request's cost reached the ledger) cannot slip between that read and the reservation,
// where the request would be counted in neither.
TEST(KeyLimits, SpendIsReadWhileReleasesWait) {
  KeyLimits limits;
  VirtualKey key = keyWithBudget(1.0);
  double remaining = 0;
  ASSERT_TRUE(limits.reserve(key, 0.5, spentOf(0.0), &remaining));
  std::atomic<bool> released{false};
  std::thread releaser;
  bool released_while_reading = true;
  auto reading = [&] {
    releaser = std::thread([&] {
      limits.release(key.id, 0.5);
      released = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    released_while_reading = released.load();
    return 0.0;
  };
  EXPECT_FALSE(limits.reserve(key, 0.6, reading, &remaining)) << "0.5 still reserved: no room";
  releaser.join();
  EXPECT_FALSE(released_while_reading) << "a release slipped between the read and the reservation";
  EXPECT_TRUE(limits.reserve(key, 0.6, spentOf(0.0), &remaining));
}

TEST(KeyLimits, RequestAndImageRatesAreEnforcedPerKey) {
  KeyLimits limits;
  VirtualKey key = keyWithBudget(1);
  key.rpm = 2;
  key.images_per_min = 4;
  EXPECT_TRUE(limits.takeRequest(key, 0).allowed);
  RateDecision second = limits.takeRequest(key, 0);
  EXPECT_TRUE(second.allowed);
  EXPECT_EQ(second.remaining, 0);
  RateDecision third = limits.takeRequest(key, 0);
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.retry_after_ms, 30'000);
  EXPECT_TRUE(limits.takeRequest(key, 30'000).allowed);
  int64_t retry = 0;
  EXPECT_TRUE(limits.takeImages(key, 3, 0, &retry));
  EXPECT_FALSE(limits.takeImages(key, 2, 0, &retry));
  EXPECT_EQ(retry, 15'000);
  EXPECT_FALSE(limits.takeImages(key, 5, 60'000, &retry)) << "more than a minute's worth";
  VirtualKey other = key;
  other.id = "key_other";
  EXPECT_TRUE(limits.takeRequest(other, 0).allowed) << "limits are per key";
}

TEST(KeyLimits, ResetDurationsReadLikeOpenAIs) {
  EXPECT_EQ(formatResetDuration(250), "250ms");
  EXPECT_EQ(formatResetDuration(12'000), "12s");
  EXPECT_EQ(formatResetDuration(90'000), "1m30s");
}

}  // namespace
}  // namespace arkroute
