// Unit: upstream gates — slots, FIFO queue, cancel, rpm and 429 pauses with an injected clock,
// the lock-light fast paths (tryAcquire, recordSuccess), ejection, probing and recovery,
// least-loaded choice by weight.
#include "proxy/upstream_gate.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace arkroute {
namespace {

struct Clock {
  int64_t now = 1'000;
  int reads = 0;
  std::function<int64_t()> fn() {
    return [this] {
      ++reads;
      return now;
    };
  }
};

GateLimits limits(int concurrency, int rpm, int queue) {
  GateLimits l;
  l.max_concurrency = concurrency;
  l.rpm = rpm;
  l.max_queue = queue;
  l.eject_after = 2;
  l.eject_for_ms = 5'000;
  return l;
}

class UpstreamGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    tasks_ = std::make_unique<LoopTasks>(base_);
  }
  void TearDown() override {
    tasks_.reset();
    event_base_free(base_);
  }
  void runTasks() { event_base_loop(base_, EVLOOP_NONBLOCK); }
  event_base* base_ = nullptr;
  std::unique_ptr<LoopTasks> tasks_;
};

TEST_F(UpstreamGateTest, QueuesBeyondConcurrencyInOrderAndRefusesWhenFull) {
  Clock clock;
  UpstreamGate gate(limits(1, 0, 2), clock.fn());
  uint64_t t1 = 0, t2 = 0, t3 = 0;
  std::vector<int> granted;
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [] {}, &t1),
            UpstreamGate::Admission::kGranted);
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [&] { granted.push_back(2); }, &t2),
            UpstreamGate::Admission::kQueued);
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [&] { granted.push_back(3); }, &t3),
            UpstreamGate::Admission::kQueued);
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [] {}, &t1),
            UpstreamGate::Admission::kQueueFull);
  gate.release();
  gate.pump();
  runTasks();
  EXPECT_EQ(granted, std::vector<int>{2});
  EXPECT_TRUE(gate.cancel(t3));
  EXPECT_FALSE(gate.cancel(t2)) << "already granted";
  gate.release();
  gate.pump();
  runTasks();
  EXPECT_EQ(granted, std::vector<int>{2});
  EXPECT_EQ(gate.inFlight(), 0);
}

TEST_F(UpstreamGateTest, RpmAndA429PauseDelayGrantsUntilTheirTime) {
  Clock clock;
  UpstreamGate gate(limits(0, 2, 10), clock.fn());
  uint64_t ticket = 0;
  int granted = 0;
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [] {}, &ticket),
            UpstreamGate::Admission::kGranted);
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [] {}, &ticket),
            UpstreamGate::Admission::kGranted);
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [&] { ++granted; }, &ticket),
            UpstreamGate::Admission::kQueued);
  EXPECT_EQ(gate.pump(), clock.now + 60'000) << "two starts in any minute: the first must age out";
  clock.now += 59'999;
  gate.pump();
  runTasks();
  EXPECT_EQ(granted, 0);
  clock.now += 1;
  gate.pump();
  runTasks();
  EXPECT_EQ(granted, 1);
  clock.now += 60'000;  // the window is empty again
  gate.pauseFor(10'000);
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [&] { ++granted; }, &ticket),
            UpstreamGate::Admission::kQueued)
      << "nothing is granted while paused after a 429";
  EXPECT_GE(gate.pump(), clock.now + 10'000);
}

TEST_F(UpstreamGateTest, EjectsAfterConsecutiveFailuresProbesAndRecovers) {
  Clock clock;
  UpstreamGate gate(limits(0, 0, 10), clock.fn());
  gate.recordFailure();
  EXPECT_TRUE(gate.available(clock.now));
  gate.recordFailure();
  EXPECT_FALSE(gate.available(clock.now));
  clock.now += 5'000;
  EXPECT_TRUE(gate.available(clock.now)) << "the probe";
  EXPECT_FALSE(gate.available(clock.now)) << "only one probe at a time";
  gate.recordFailure();
  EXPECT_FALSE(gate.available(clock.now + 4'999)) << "a failed probe ejects again";
  clock.now += 5'000;
  EXPECT_TRUE(gate.available(clock.now));
  gate.recordSuccess();
  EXPECT_TRUE(gate.available(clock.now));
  EXPECT_TRUE(gate.available(clock.now)) << "recovered: no longer probing";
}

// A probe whose request ends without a result (its client left, it waited out its queue, or
// choose() tried it and took another upstream) must not keep the upstream out for good.
TEST_F(UpstreamGateTest, AProbeThatNeverReportsIsGivenUpAfterEjectFor) {
  Clock clock;
  UpstreamGate gate(limits(0, 0, 10), clock.fn());
  gate.recordFailure();
  gate.recordFailure();
  clock.now += 5'000;
  ASSERT_TRUE(gate.available(clock.now)) << "the probe, which then never reports";
  EXPECT_FALSE(gate.available(clock.now + 4'999)) << "still one probe at a time meanwhile";
  clock.now += 5'000;
  EXPECT_TRUE(gate.available(clock.now)) << "the lost probe is given up: a new one goes";
  EXPECT_FALSE(gate.available(clock.now)) << "and it is the only one";
  gate.recordSuccess();
  EXPECT_TRUE(gate.available(clock.now)) << "recovered";
}

// tryAcquire() is the request path's first try: it never jumps the queue, and grants only what
// acquire() would grant at once.
TEST_F(UpstreamGateTest, TryAcquireGrantsAFreeSlotOnlyWhenNobodyWaits) {
  Clock clock;
  UpstreamGate gate(limits(1, 0, 2), clock.fn());
  uint64_t ticket = 0;
  int granted = 0;
  EXPECT_TRUE(gate.tryAcquire());
  EXPECT_FALSE(gate.tryAcquire()) << "at max_concurrency";
  EXPECT_EQ(gate.inFlight(), 1);
  EXPECT_EQ(gate.acquire(
                tasks_.get(), [&] { ++granted; }, &ticket),
            UpstreamGate::Admission::kQueued);
  gate.release();
  EXPECT_FALSE(gate.tryAcquire()) << "a free slot belongs to the request already waiting";
  gate.pump();
  runTasks();
  EXPECT_EQ(granted, 1);
  gate.release();
  EXPECT_TRUE(gate.tryAcquire());
  gate.release();
  EXPECT_EQ(gate.inFlight(), 0);
}

TEST_F(UpstreamGateTest, TryAcquireReadsTheClockOnlyForRpmOrAPause) {
  Clock clock;
  UpstreamGate unshaped(limits(0, 0, 10), clock.fn());
  int before = clock.reads;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(unshaped.tryAcquire());
  EXPECT_EQ(clock.reads, before) << "no limit depends on time";
  unshaped.pauseFor(1'000);
  EXPECT_FALSE(unshaped.tryAcquire()) << "paused after a 429";
  clock.now += 1'000;
  EXPECT_TRUE(unshaped.tryAcquire()) << "the pause is over";
  before = clock.reads;
  EXPECT_TRUE(unshaped.tryAcquire());
  EXPECT_EQ(clock.reads, before) << "an expired pause is forgotten";

  UpstreamGate limited(limits(0, 2, 10), clock.fn());
  EXPECT_TRUE(limited.tryAcquire());
  EXPECT_TRUE(limited.tryAcquire());
  EXPECT_FALSE(limited.tryAcquire()) << "2 requests per minute";
  clock.now += 30'000;
  EXPECT_FALSE(limited.tryAcquire()) << "the first two starts are still in the last minute";
  clock.now += 30'000;
  EXPECT_TRUE(limited.tryAcquire());
}

// Without limits, slots are counted per thread and without the lock. They must still count once a
// limit arrives (a reload), and a slot may be given back on another thread than took it.
TEST_F(UpstreamGateTest, SlotsTakenWithoutALimitCountAgainstOneSetLater) {
  Clock clock;
  UpstreamGate gate(limits(0, 0, 10), clock.fn());
  EXPECT_TRUE(gate.tryAcquire());
  std::thread([&] { EXPECT_TRUE(gate.tryAcquire()); }).join();
  EXPECT_EQ(gate.inFlight(), 2);
  EXPECT_DOUBLE_EQ(gate.load(), 2.0);
  gate.setLimits(limits(2, 0, 10));
  EXPECT_FALSE(gate.tryAcquire()) << "both slots are held";
  std::thread([&] { gate.release(); }).join();
  EXPECT_EQ(gate.inFlight(), 1);
  EXPECT_TRUE(gate.tryAcquire());
  gate.release();
  gate.release();
  gate.setLimits(limits(0, 0, 10));
  EXPECT_EQ(gate.inFlight(), 0);
}

// A queue keeps its place: nobody passes it on the lock-free path before the pump has granted it,
// even once the pause or the limit that made it is gone.
TEST_F(UpstreamGateTest, AQueueIsServedBeforeTheFastPathReopens) {
  Clock clock;
  UpstreamGate gate(limits(0, 0, 10), clock.fn());
  gate.pauseFor(1'000);
  uint64_t ticket = 0;
  int granted = 0;
  auto grant = [&] { ++granted; };
  EXPECT_EQ(gate.acquire(tasks_.get(), grant, &ticket), UpstreamGate::Admission::kQueued);
  clock.now += 1'000;
  EXPECT_FALSE(gate.tryAcquire()) << "the pause is over, but a request waits";
  gate.pump();
  runTasks();
  EXPECT_EQ(granted, 1);
  EXPECT_TRUE(gate.tryAcquire()) << "nobody waits any more";
  EXPECT_EQ(gate.inFlight(), 2);
  gate.release();
  gate.release();

  gate.setLimits(limits(1, 0, 10));
  EXPECT_TRUE(gate.tryAcquire());
  EXPECT_EQ(gate.acquire(tasks_.get(), grant, &ticket), UpstreamGate::Admission::kQueued);
  gate.setLimits(limits(0, 0, 10));  // a reload lifts the limit
  EXPECT_FALSE(gate.tryAcquire()) << "no limit any more, but a request waits";
  gate.pump();
  runTasks();
  EXPECT_EQ(granted, 2);
  EXPECT_TRUE(gate.tryAcquire());
}

// recordSuccess() skips its lock while nothing is recorded; after a failure it must still reset.
TEST_F(UpstreamGateTest, ASuccessResetsTheFailureCount) {
  Clock clock;
  UpstreamGate gate(limits(0, 0, 10), clock.fn());  // ejects after 2 consecutive failures
  gate.recordSuccess();
  gate.recordFailure();
  gate.recordSuccess();
  gate.recordFailure();
  EXPECT_TRUE(gate.available(clock.now)) << "not consecutive: no ejection";
  gate.recordFailure();
  EXPECT_FALSE(gate.available(clock.now));
}

// A reload that raises max_concurrency lets the queue in at once: the pump is woken, not left
// asleep until a slot held by a long generation comes back.
TEST_F(UpstreamGateTest, AReloadThatRaisesTheLimitGrantsWaitersAtOnce) {
  Clock clock;
  UpstreamGates gates(clock.fn());
  UpstreamConfig sim;
  sim.name = "sim";
  sim.max_concurrency = 1;
  gates.configure({sim});
  UpstreamGate& gate = gates.gate("sim");
  ASSERT_TRUE(gate.tryAcquire());
  uint64_t ticket = 0;
  int granted = 0;
  ASSERT_EQ(gate.acquire(
                tasks_.get(), [&] { ++granted; }, &ticket),
            UpstreamGate::Admission::kQueued);
  // The pump, woken by the new waiter, finds no free slot and goes back to sleep.
  for (int i = 0; i < 10; ++i) {
    runTasks();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(granted, 0) << "at max_concurrency";
  sim.max_concurrency = 2;
  gates.configure({sim});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (granted == 0 && std::chrono::steady_clock::now() < deadline) {
    runTasks();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(granted, 1) << "the slot the reload added went to the waiting request";
  EXPECT_EQ(gate.inFlight(), 2);
}

TEST_F(UpstreamGateTest, ChoosesTheLeastLoadedRelativeToWeight) {
  Clock clock;
  UpstreamGates gates(clock.fn());
  UpstreamConfig heavy, light;
  heavy.name = "heavy";
  heavy.weight = 3;
  light.name = "light";
  gates.configure({heavy, light});
  uint64_t ticket = 0;
  EXPECT_EQ(gates.choose({"heavy", "light"}), 0u);
  gates.gate("heavy").acquire(
      tasks_.get(), [] {}, &ticket);
  EXPECT_EQ(gates.choose({"heavy", "light"}), 1u) << "1/3 loaded vs idle";
  gates.gate("light").acquire(
      tasks_.get(), [] {}, &ticket);
  EXPECT_EQ(gates.choose({"heavy", "light"}), 0u) << "1/3 vs 1/1";
}

}  // namespace
}  // namespace arkroute
