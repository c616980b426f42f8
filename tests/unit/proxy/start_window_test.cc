// Unit: the sliding start window behind upstream rpm limits — never more than per_minute starts
// in any 60 s, waits that end when the oldest start ages out, and the pause after a 429.
#include "proxy/start_window.h"

#include <gtest/gtest.h>

namespace arkroute {
namespace {

TEST(StartWindow, NeverAllowsMoreThanPerMinuteStartsInAnySixtySeconds) {
  StartWindow window(6);
  int64_t now = 1'000'000;
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(window.msUntilNext(now), 0);
    window.take(now);
  }
  EXPECT_EQ(window.msUntilNext(now), 60'000);
  EXPECT_EQ(window.msUntilNext(now + 10'000), 50'000) << "a refilling bucket would allow one here";
  EXPECT_EQ(window.msUntilNext(now + 60'000), 0);
  // Every start later than that keeps the count over any 60 s at 6.
  int started = 0;
  for (int64_t t = now + 60'000; t < now + 120'000; t += 500) {
    if (window.msUntilNext(t) == 0) {
      window.take(t);
      ++started;
    }
  }
  EXPECT_EQ(started, 6);
}

TEST(StartWindow, SpreadStartsFreeTheirSlotsOneByOne) {
  StartWindow window(2);
  window.take(0);
  window.take(20'000);
  EXPECT_EQ(window.msUntilNext(30'000), 30'000);
  window.take(60'000);
  EXPECT_EQ(window.msUntilNext(60'000), 20'000) << "the start at 20 s ages out at 80 s";
}

TEST(StartWindow, AfterA429TheNextStartWaitsOneInterval) {
  StartWindow window(60);
  window.drain(5'000);
  EXPECT_EQ(window.msUntilNext(5'000), 1'000);
  EXPECT_EQ(window.msUntilNext(6'000), 0);
}

TEST(StartWindow, ALowerRateAppliesToTheStartsAlreadyMade) {
  StartWindow window(10);
  for (int i = 0; i < 5; ++i) window.take(i * 1'000);
  window.setRate(3);
  EXPECT_EQ(window.msUntilNext(5'000), 57'000) << "the start at 2 s ages out at 62 s";
}

}  // namespace
}  // namespace arkroute
