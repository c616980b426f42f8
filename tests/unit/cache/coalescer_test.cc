// Unit tests for request coalescing: one writer, named outcomes, takeover, cancellation.
#include "cache/coalescer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace arkroute::cache {
namespace {

const Digest kDigest{1, 2, 3};

TEST(Coalescer, HundredThreadsMakeOneWriterAndEveryWaiterGetsTheEntry) {
  Coalescer coalescer;
  std::atomic<int> writers{0}, served{0};
  std::unique_ptr<Coalescer::WritePermit> permit;
  std::mutex permit_mutex;
  std::vector<std::thread> threads;
  auto entry = std::make_shared<const CacheEntry>(CacheEntry{"image", "application/json"});
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      auto joined = coalescer.join(kDigest, [&](Coalescer::Result result) {
        if (result.outcome == Coalescer::Outcome::kDone && result.entry->body == "image") ++served;
      });
      if (auto* p = std::get_if<std::unique_ptr<Coalescer::WritePermit>>(&joined)) {
        ++writers;
        std::lock_guard lock(permit_mutex);
        permit = std::move(*p);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(writers, 1);
  permit->done(entry);
  EXPECT_EQ(served, 99);
  EXPECT_EQ(coalescer.stats().coalesced, 99u);
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<Coalescer::WritePermit>>(
      coalescer.join(kDigest, [](Coalescer::Result) {})))
      << "the flight is over: the next miss writes again";
}

TEST(Coalescer, ADroppedPermitHandsTheJobToExactlyOneWaiter) {
  Coalescer coalescer;
  auto joined = coalescer.join(kDigest, nullptr);
  auto permit = std::move(std::get<std::unique_ptr<Coalescer::WritePermit>>(joined));
  std::vector<std::unique_ptr<Coalescer::WritePermit>> takeovers;
  std::vector<Coalescer::Outcome> outcomes;
  int woken = 0;
  for (int i = 0; i < 3; ++i) {
    coalescer.join(kDigest, [&](Coalescer::Result result) {
      ++woken;
      outcomes.push_back(result.outcome);
      if (result.permit) takeovers.push_back(std::move(result.permit));
    });
  }
  permit.reset();  // the writer failed without saying so
  ASSERT_EQ(woken, 1);
  ASSERT_TRUE(takeovers[0]);
  takeovers[0]->uncacheable();
  EXPECT_EQ(woken, 3) << "uncacheable wakes the remaining waiters to fetch on their own";
  EXPECT_EQ(outcomes, (std::vector<Coalescer::Outcome>{Coalescer::Outcome::kFailed,
                                                       Coalescer::Outcome::kUncacheable,
                                                       Coalescer::Outcome::kUncacheable}));
  EXPECT_EQ(takeovers.size(), 1u);
  EXPECT_EQ(coalescer.stats().takeovers, 1u);
}

TEST(Coalescer, ACancelledWaiterIsNeverCalled) {
  Coalescer coalescer;
  auto permit = std::move(
      std::get<std::unique_ptr<Coalescer::WritePermit>>(coalescer.join(kDigest, nullptr)));
  bool called = false;
  auto ticket = std::get<Coalescer::Ticket>(
      coalescer.join(kDigest, [&](Coalescer::Result) { called = true; }));
  EXPECT_TRUE(coalescer.cancelWait(kDigest, ticket));
  EXPECT_FALSE(coalescer.cancelWait(kDigest, ticket));
  permit->done(std::make_shared<const CacheEntry>());
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace arkroute::cache
