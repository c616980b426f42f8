// LazyTimer on a real event loop: it fires once its latest deadline has passed, whether re-arming
// moved that deadline later (the pending event fires early and re-arms) or earlier (the event is
// moved), never after disarm, and its callback may destroy the timer.
#include "proxy/http/lazy_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "unit/proxy/http/timer_loop.h"

namespace arkroute::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using Loop = testing::TimerLoop;

struct Fired {
  int count = 0;
  Clock::time_point last;
  static void record(void* arg) {
    auto* self = static_cast<Fired*>(arg);
    ++self->count;
    self->last = Clock::now();
  }
};

// A timer on its own loop that counts when it fires.
class LazyTimerTest : public ::testing::Test {
 protected:
  Loop loop;
  Fired fired;
  LazyTimer timer{loop.base, &Fired::record, &fired};
  Clock::time_point start = Clock::now();
};

TEST_F(LazyTimerTest, FiresOnceAfterItsTimeout) {
  timer.arm(40ms);
  EXPECT_TRUE(timer.armed());
  loop.run(400ms);
  EXPECT_EQ(fired.count, 1);
  EXPECT_GE(fired.last - start, 40ms);
  EXPECT_FALSE(timer.armed());
}

TEST_F(LazyTimerTest, ReArmingLaterPostponesTheCallback) {
  timer.arm(40ms);
  Clock::time_point rearmed;
  loop.at(20ms, [&] {
    rearmed = Clock::now();
    timer.arm(80ms);  // the pending event still fires at ~40 ms, finds it early, and re-arms
  });
  loop.run(600ms);
  EXPECT_EQ(fired.count, 1);
  EXPECT_GE(fired.last - rearmed, 80ms);
  EXPECT_GE(fired.last - start, 100ms);
}

TEST_F(LazyTimerTest, ReArmingEarlierMovesTheEvent) {
  timer.arm(60s);
  timer.arm(30ms);
  loop.run(1s);
  EXPECT_EQ(fired.count, 1);
  EXPECT_GE(fired.last - start, 30ms);
  EXPECT_LT(fired.last - start, 900ms);
}

TEST_F(LazyTimerTest, DisarmedItNeverFiresAndCanBeArmedAgain) {
  timer.arm(20ms);
  timer.disarm();
  EXPECT_FALSE(timer.armed());
  loop.run(150ms);
  EXPECT_EQ(fired.count, 0);

  timer.arm(20ms);
  loop.run(300ms);
  EXPECT_EQ(fired.count, 1);
}

TEST(LazyTimer, ItsCallbackMayDestroyIt) {
  Loop loop;
  struct Owner {
    std::unique_ptr<LazyTimer> timer;
    int fired = 0;
  } owner;
  owner.timer = std::make_unique<LazyTimer>(
      loop.base,
      [](void* arg) {
        auto* self = static_cast<Owner*>(arg);
        ++self->fired;
        self->timer.reset();
      },
      &owner);
  owner.timer->arm(10ms);
  loop.run(200ms);
  EXPECT_EQ(owner.fired, 1);
  EXPECT_EQ(owner.timer, nullptr);
}

}  // namespace
}  // namespace arkroute::http
