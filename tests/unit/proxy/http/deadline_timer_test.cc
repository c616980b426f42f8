// DeadlineList on a real event loop: entries expire in the order they were started, once their
// length has passed and not before; a stopped entry never expires; a restarted one counts from
// its restart; an expiry may stop or start others, or destroy the list itself.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "proxy/http/deadline_list.h"
#include "unit/proxy/http/timer_loop.h"

namespace arkroute::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// What a timed thing does when its timeout expires: records when, then runs `then`.
struct Timed {
  int id = 0;
  std::vector<std::pair<int, Clock::time_point>>* log = nullptr;
  std::function<void()> then;
  DeadlineList::Entry entry{this};
  static void expire(void* owner) {
    auto* self = static_cast<Timed*>(owner);
    self->log->emplace_back(self->id, Clock::now());
    if (self->then) self->then();
  }
};

class DeadlineListTest : public ::testing::Test {
 protected:
  Timed& make(int id) {
    timed.push_back(std::make_unique<Timed>());
    timed.back()->id = id;
    timed.back()->log = &log;
    return *timed.back();
  }
  std::vector<int> order() const {
    std::vector<int> ids;
    for (const auto& [id, when] : log) ids.push_back(id);
    return ids;
  }
  testing::TimerLoop loop;
  std::vector<std::pair<int, Clock::time_point>> log;
  std::vector<std::unique_ptr<Timed>> timed;
  Clock::time_point start = Clock::now();
};

TEST_F(DeadlineListTest, EntriesExpireInStartOrderOnceTheirLengthHasPassed) {
  DeadlineList list(loop.base, 40ms, &Timed::expire);
  std::vector<Clock::time_point> started;
  auto startOne = [&](int id) {
    started.push_back(Clock::now());
    list.start(&make(id).entry);
  };
  startOne(1);
  loop.at(10ms, [&] { startOne(2); });
  loop.at(20ms, [&] { startOne(3); });
  loop.run(300ms);
  ASSERT_EQ(order(), (std::vector<int>{1, 2, 3}));
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_GE(log[k].second - started[k], 40ms) << k;
    EXPECT_LT(log[k].second - started[k], 160ms) << k;
  }
  for (const auto& t : timed) EXPECT_FALSE(t->entry.running());
}

TEST_F(DeadlineListTest, AStoppedEntryNeverExpiresAndTheOthersStillDo) {
  DeadlineList list(loop.base, 30ms, &Timed::expire);
  Timed& first = make(1);
  list.start(&first.entry);
  list.start(&make(2).entry);
  list.stop(&first.entry);  // the oldest: the timer armed for it must not expire the second early
  list.stop(&first.entry);  // stopping twice is nothing
  EXPECT_FALSE(first.entry.running());
  loop.run(120ms);
  ASSERT_EQ(order(), (std::vector<int>{2}));
  EXPECT_GE(log[0].second - start, 30ms);
}

TEST_F(DeadlineListTest, ARestartCountsFromTheRestart) {
  DeadlineList list(loop.base, 40ms, &Timed::expire);
  Timed& a = make(1);
  list.start(&a.entry);
  list.start(&make(2).entry);
  Clock::time_point restarted;
  loop.at(30ms, [&] {
    restarted = Clock::now();
    list.start(&a.entry);  // now the newest
  });
  loop.run(200ms);
  ASSERT_EQ(order(), (std::vector<int>{2, 1}));
  EXPECT_GE(log[1].second - restarted, 40ms);
}

TEST_F(DeadlineListTest, AnExpiryMayStopStartOrExpireOthers) {
  DeadlineList list(loop.base, 20ms, &Timed::expire);
  Timed& a = make(1);
  Timed& b = make(2);
  Timed& c = make(3);
  Timed& later = make(4);
  list.start(&a.entry);
  list.start(&b.entry);
  list.start(&c.entry);
  a.then = [&] {
    list.stop(&b.entry);       // due in the same round: it must not run
    list.start(&later.entry);  // from now: 20 ms after a's expiry
  };
  loop.run(150ms);
  ASSERT_EQ(order(), (std::vector<int>{1, 3, 4}));
  EXPECT_GE(log[2].second - log[0].second, 20ms);
}

TEST_F(DeadlineListTest, AnExpiryMayDestroyTheList) {
  auto list = std::make_unique<DeadlineList>(loop.base, 10ms, &Timed::expire);
  Timed& a = make(1);
  Timed& b = make(2);
  list->start(&a.entry);
  list->start(&b.entry);
  a.then = [&] { list.reset(); };
  loop.run(60ms);
  EXPECT_EQ(order(), (std::vector<int>{1}));
  EXPECT_FALSE(b.entry.running());  // the list let go of it
}

TEST_F(DeadlineListTest, ThousandsOfEntriesExpireExactlyOnceEachInOrder) {
  DeadlineList list(loop.base, 5ms, &Timed::expire);
  for (int i = 0; i < 3000; ++i) {
    Timed& t = make(i);
    if (i % 3 == 0) {
      list.start(&t.entry);
    } else {
      loop.at(std::chrono::milliseconds(i % 7), [&list, &t] { list.start(&t.entry); });
    }
  }
  std::vector<int> stopped(3000, 0);
  for (int i = 1; i < 3000; i += 10) {
    list.stop(&timed[i]->entry);  // nothing for those that start later
    stopped[i] = i % 3 == 0;
  }
  loop.run(100ms);
  std::vector<int> seen(3000, 0);
  for (int id : order()) ++seen[id];
  for (int i = 0; i < 3000; ++i) EXPECT_EQ(seen[i], stopped[i] ? 0 : 1) << i;
  for (size_t k = 1; k < log.size(); ++k) EXPECT_LE(log[k - 1].second, log[k].second);
}

}  // namespace
}  // namespace arkroute::http
