// BlockingPool: jobs run off the caller's thread (named after the pool), stop() runs what is
// queued, a job submitted after stop() still runs (on the caller's thread), and a job that throws
// is reported on stderr without ending its thread. continuationOf: a job whose continuation
// cannot be made still answers, through its fallback.
#include "proxy/blocking_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <future>
#include <stdexcept>
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

TEST(BlockingPool, AJobThatThrowsIsReportedAndItsThreadRunsTheNextJob) {
  BlockingPool pool(1, "ark-test");
  std::promise<void> next_ran;
  ::testing::internal::CaptureStderr();
  pool.submit([] { throw std::runtime_error("a bug in a job"); });
  pool.submit([&] { next_ran.set_value(); });
  auto status = next_ran.get_future().wait_for(std::chrono::seconds(5));
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, std::future_status::ready);
  EXPECT_NE(log.find("arkroute: internal error in a job on the ark-test pool: a bug in a job"),
            std::string::npos)
      << log;
}

TEST(ContinuationOf, IsTheJobsContinuationWhenTheJobSucceeds) {
  std::string ran;
  continuationOf([&] { return std::function<void()>([&] { ran = "continuation"; }); },
                 [&] { ran = "fallback"; })();
  EXPECT_EQ(ran, "continuation");
}

TEST(ContinuationOf, IsTheFallbackWhenTheJobThrows) {
  std::string ran;
  ::testing::internal::CaptureStderr();
  std::function<void()> next = continuationOf(
      []() -> std::function<void()> { throw std::out_of_range("a bug reading the disk"); },
      [&] { ran = "fallback"; });
  std::string log = ::testing::internal::GetCapturedStderr();
  next();
  EXPECT_EQ(ran, "fallback");
  EXPECT_NE(log.find("internal error in work off the event loop: a bug reading the disk"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace arkroute
