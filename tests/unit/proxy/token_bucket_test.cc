// Unit: the token bucket's accuracy with an injected clock (no sleeps).
#include "proxy/token_bucket.h"

#include <gtest/gtest.h>

namespace arkroute {
namespace {

TEST(TokenBucket, AllowsTheRateWithinOneRequestOverAnyWindow) {
  TokenBucket bucket(60, 0);  // one a second, burst of 60
  int granted = 0;
  for (int i = 0; i < 100; ++i) granted += bucket.tryTake(1, 0);
  EXPECT_EQ(granted, 60) << "a full bucket grants exactly its burst";
  // Over the next 10 minutes, asking every 100 ms, grants track 60/min within one request.
  granted = 0;
  for (int64_t now = 100; now <= 600'000; now += 100) granted += bucket.tryTake(1, now);
  EXPECT_GE(granted, 599);
  EXPECT_LE(granted, 601);
}

TEST(TokenBucket, ReportsRemainingAndTheWaitForTheNextToken) {
  TokenBucket bucket(3, 1'000);
  EXPECT_EQ(bucket.remaining(1'000), 3);
  EXPECT_TRUE(bucket.tryTake(3, 1'000));
  EXPECT_FALSE(bucket.tryTake(1, 1'000));
  EXPECT_EQ(bucket.msUntil(1, 1'000), 20'000);
  EXPECT_EQ(bucket.msUntilFull(1'000), 60'000);
  EXPECT_EQ(bucket.msUntil(1, 11'000), 10'000);
  EXPECT_TRUE(bucket.tryTake(1, 21'000));
  EXPECT_EQ(bucket.remaining(21'000), 0);
}

TEST(TokenBucket, DrainStopsGrantsUntilRefilled) {
  TokenBucket bucket(600, 0);
  bucket.drain(0);
  EXPECT_FALSE(bucket.tryTake(1, 50));
  EXPECT_TRUE(bucket.tryTake(1, 100));
}

}  // namespace
}  // namespace arkroute
