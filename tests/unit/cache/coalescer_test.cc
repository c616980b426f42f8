// Coalescer: one writer per digest, named outcomes, takeover, cancellation and batched waking.
#include "cache/coalescer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <thread>

namespace arkroute::cache {
namespace {

using Permit = std::unique_ptr<Coalescer::WritePermit>;
const Digest kDigest{1, 2, 3};

Permit takePermit(Coalescer::JoinResult joined) {
  Permit* permit = std::get_if<Permit>(&joined);
  return permit ? std::move(*permit) : nullptr;
}

TEST(Coalescer, HundredThreadsMakeOneWriterAndEveryWaiterGetsTheSameEntry) {
  Coalescer coalescer;
  std::latch start(100);
  std::mutex mutex;
  std::vector<Permit> permits;
  std::vector<const CacheEntry*> served;
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      Permit permit = takePermit(coalescer.join(kDigest, [&](Coalescer::Result result) {
        std::lock_guard lock(mutex);
        if (result.outcome == Coalescer::Outcome::kDone) served.push_back(result.entry.get());
      }));
      std::lock_guard lock(mutex);
      if (permit) permits.push_back(std::move(permit));
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(permits.size(), 1u);
  auto entry = std::make_shared<const CacheEntry>(CacheEntry{"image", "application/json"});
  permits[0]->done(entry);
  ASSERT_EQ(served.size(), 99u);
  EXPECT_EQ(std::set<const CacheEntry*>(served.begin(), served.end()),
            std::set<const CacheEntry*>{entry.get()});
  Coalescer::Stats stats = coalescer.stats();
  EXPECT_EQ(stats.writers, 1u);
  EXPECT_EQ(stats.waiters_joined, 99u);
  EXPECT_EQ(stats.coalesced, 99u);
  EXPECT_EQ(stats.takeovers, 0u);
  EXPECT_TRUE(takePermit(coalescer.join(kDigest, nullptr))) << "the flight is over";
}

TEST(Coalescer, ADroppedPermitHandsTheJobToExactlyOneWaiter) {
  Coalescer coalescer;
  Permit permit = takePermit(coalescer.join(kDigest, nullptr));
  std::vector<Permit> takeovers;
  std::vector<Coalescer::Outcome> outcomes;
  for (int i = 0; i < 3; ++i) {
    coalescer.join(kDigest, [&](Coalescer::Result result) {
      outcomes.push_back(result.outcome);
      if (result.permit) takeovers.push_back(std::move(result.permit));
    });
  }
  permit.reset();  // the writer went away without an outcome
  ASSERT_EQ(outcomes, std::vector<Coalescer::Outcome>{Coalescer::Outcome::kFailed});
  ASSERT_EQ(takeovers.size(), 1u);
  EXPECT_EQ(takeovers[0]->digest(), kDigest);
  EXPECT_EQ(coalescer.stats().takeovers, 1u);
  auto entry = std::make_shared<const CacheEntry>();
  takeovers[0]->done(entry);
  EXPECT_EQ(outcomes,
            (std::vector<Coalescer::Outcome>{Coalescer::Outcome::kFailed, Coalescer::Outcome::kDone,
                                             Coalescer::Outcome::kDone}));
  EXPECT_EQ(takeovers.size(), 1u);
}

TEST(Coalescer, WaitersLearnWhetherTheStoreKeptTheEntry) {
  for (bool stored : {true, false}) {
    Coalescer coalescer;
    Permit permit = takePermit(coalescer.join(kDigest, nullptr));
    std::vector<bool> told;
    for (int i = 0; i < 3; ++i) {
      coalescer.join(kDigest, [&](Coalescer::Result result) {
        EXPECT_EQ(result.outcome, Coalescer::Outcome::kDone);
        EXPECT_NE(result.entry, nullptr);
        told.push_back(result.stored);
      });
    }
    permit->done(std::make_shared<const CacheEntry>(CacheEntry{"image", "application/json"}),
                 stored);
    EXPECT_EQ(told, std::vector<bool>(3, stored));
  }
}

TEST(Coalescer, UncacheableWakesEveryWaiterToFetchOnItsOwn) {
  Coalescer coalescer;
  Permit permit = takePermit(coalescer.join(kDigest, nullptr));
  int uncacheable = 0;
  for (int i = 0; i < 5; ++i) {
    coalescer.join(kDigest, [&](Coalescer::Result result) {
      if (result.outcome == Coalescer::Outcome::kUncacheable && !result.entry && !result.permit) {
        ++uncacheable;
      }
    });
  }
  permit->uncacheable();
  permit->failed();  // a later outcome is ignored
  permit.reset();
  EXPECT_EQ(uncacheable, 5);
  EXPECT_EQ(coalescer.stats().coalesced, 0u);
  EXPECT_EQ(coalescer.stats().takeovers, 0u);
}

TEST(Coalescer, ARefusalIsGivenToEveryWaiterAndNoneTakesOver) {
  Coalescer coalescer;
  Permit permit = takePermit(coalescer.join(kDigest, nullptr));
  std::vector<const Coalescer::ErrorAnswer*> given;
  for (int i = 0; i < 5; ++i) {
    coalescer.join(kDigest, [&](Coalescer::Result result) {
      EXPECT_EQ(result.outcome, Coalescer::Outcome::kRefused);
      EXPECT_FALSE(result.permit);
      given.push_back(result.error.get());
    });
  }
  auto answer = std::make_shared<const Coalescer::ErrorAnswer>(
      Coalescer::ErrorAnswer{504, {{"retry-after", "1"}}, R"({"error":{}})"});
  permit->refused(answer);
  permit.reset();  // no second outcome: nobody takes over
  EXPECT_EQ(given, std::vector<const Coalescer::ErrorAnswer*>(5, answer.get()));
  EXPECT_EQ(coalescer.stats().refused, 5u);
  EXPECT_EQ(coalescer.stats().takeovers, 0u);
  EXPECT_TRUE(std::holds_alternative<Permit>(coalescer.join(kDigest, nullptr)))
      << "the flight is over: the next request fetches";
}

TEST(Coalescer, ACancelledWaiterIsNeverCalled) {
  Coalescer coalescer;
  Permit permit = takePermit(coalescer.join(kDigest, nullptr));
  bool cancelled_called = false;
  int others = 0;
  auto ticket = std::get<Coalescer::Ticket>(
      coalescer.join(kDigest, [&](Coalescer::Result) { cancelled_called = true; }));
  coalescer.join(kDigest, [&](Coalescer::Result) { ++others; });
  EXPECT_TRUE(coalescer.cancelWait(kDigest, ticket));
  EXPECT_FALSE(coalescer.cancelWait(kDigest, ticket));
  EXPECT_FALSE(coalescer.cancelWait(Digest{9}, ticket));
  permit.reset();  // the takeover goes to the remaining waiter, not the cancelled one
  EXPECT_FALSE(cancelled_called);
  EXPECT_EQ(others, 1);
}

TEST(Coalescer, WakingInBatchesLetsALaterWaiterCancelInTime) {
  Coalescer coalescer(2);
  Permit permit = takePermit(coalescer.join(kDigest, nullptr));
  std::vector<int> called;
  Coalescer::Ticket last = 0;
  bool cancel_result = false;
  for (int i = 0; i < 5; ++i) {
    auto joined = coalescer.join(kDigest, [&, i](Coalescer::Result) {
      called.push_back(i);
      if (i == 0) cancel_result = coalescer.cancelWait(kDigest, last);
    });
    last = std::get<Coalescer::Ticket>(joined);
  }
  permit->done(std::make_shared<const CacheEntry>());
  EXPECT_TRUE(cancel_result) << "waiter 4 was still queued while batch one ran";
  EXPECT_EQ(called, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(coalescer.stats().coalesced, 4u);
}

TEST(Coalescer, AJoinDuringWakingIsServedTheSameOutcome) {
  Coalescer coalescer(1);
  Permit permit = takePermit(coalescer.join(kDigest, nullptr));
  Coalescer::Outcome late_outcome = Coalescer::Outcome::kFailed;
  bool late_was_queued = false;
  for (int i = 0; i < 2; ++i) {
    coalescer.join(kDigest, [&, i](Coalescer::Result) {
      if (i != 0) return;
      auto joined =
          coalescer.join(kDigest, [&](Coalescer::Result result) { late_outcome = result.outcome; });
      late_was_queued = std::holds_alternative<Coalescer::Ticket>(joined);
    });
  }
  permit->done(std::make_shared<const CacheEntry>());
  EXPECT_TRUE(late_was_queued);
  EXPECT_EQ(late_outcome, Coalescer::Outcome::kDone);
}

TEST(Coalescer, ALongChainOfFailedTakeoversRunsWithoutRecursion) {
  Coalescer coalescer;
  Permit permit = takePermit(coalescer.join(kDigest, nullptr));
  constexpr int kWaiters = 20'000;
  int failed = 0;
  for (int i = 0; i < kWaiters; ++i) {
    coalescer.join(kDigest, [&](Coalescer::Result result) {
      if (result.outcome == Coalescer::Outcome::kFailed && result.permit) ++failed;
    });  // result.permit is dropped here: the next waiter takes over
  }
  permit.reset();
  EXPECT_EQ(failed, kWaiters);
  EXPECT_EQ(coalescer.stats().takeovers, static_cast<uint64_t>(kWaiters));
  EXPECT_TRUE(takePermit(coalescer.join(kDigest, nullptr))) << "the flight is over";
}

TEST(Coalescer, DifferentDigestsNeverWaitForEachOther) {
  Coalescer coalescer;
  Permit a = takePermit(coalescer.join(Digest{1}, nullptr));
  Permit b = takePermit(coalescer.join(Digest{2}, nullptr));
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_EQ(toString(Coalescer::Outcome::kWaitTimeout), "wait_timeout");
  EXPECT_EQ(toString(Coalescer::Outcome::kDone), "done");
  EXPECT_EQ(toString(Coalescer::Outcome::kRefused), "refused");
}

}  // namespace
}  // namespace arkroute::cache
