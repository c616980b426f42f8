// BlockingPool: jobs run off the caller's thread (named after the pool), stop() runs what is
// queued, and a job submitted after stop() still runs (on the caller's thread).
#include "proxy/blocking_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

namespace arkroute {
namespace {

TEST(BlockingPool, JobsRunOnThePoolsThreads) {
  BlockingPool pool(2, "ark-test");
  std::promise<std::thread::id> ran_on;
  pool.submit([&] { ran_on.set_value(std::this_thread::get_id()); });
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
}

TEST(BlockingPool, ThreadsCarryTheirNameAndIndex) {
  BlockingPool pool(1, "ark-test");
  std::promise<std::string> name;
  pool.submit([&] {
    char buffer[16] = {};
    pthread_getname_np(pthread_self(), buffer, sizeof buffer);
    name.set_value(buffer);
  });
  EXPECT_EQ(name.get_future().get(), "ark-test-0");
}

TEST(BlockingPool, AJobThatWaitsDoesNotHoldUpTheOthers) {
  BlockingPool pool(2, "ark-test");
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> second_ran;
  pool.submit([released] { released.wait(); });
  pool.submit([&] { second_ran.set_value(); });
  EXPECT_EQ(second_ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  release.set_value();
}

TEST(BlockingPool, StopRunsEveryQueuedJobThenLaterJobsRunInline) {
  std::atomic<int> ran{0};
  BlockingPool pool(1, "ark-test");
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.submit([released] { released.wait(); });
  for (int i = 0; i < 10; ++i) pool.submit([&] { ++ran; });
  release.set_value();
  pool.stop();
  EXPECT_EQ(ran.load(), 10);
  std::thread::id ran_on;
  pool.submit([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace arkroute
