// LoopTasks: tasks posted from another thread run in order on the loop's thread, and a task that
// throws is reported on stderr while the tasks after it in its batch still run.
#include "proxy/loop_tasks.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace arkroute {
namespace {

class LoopTasksTest : public ::testing::Test {
 protected:
  LoopTasksTest() : base_(event_base_new()), tasks_(std::make_unique<LoopTasks>(base_)) {}
  ~LoopTasksTest() override {
    tasks_.reset();
    event_base_free(base_);
  }

  // Runs the loop until a task ends it (or 5 s pass).
  void runLoop() {
    timeval limit{5, 0};
    event_base_loopexit(base_, &limit);
    event_base_dispatch(base_);
  }
  void postStop() {
    tasks_->post([this] { event_base_loopbreak(base_); });
  }

  event_base* base_;
  std::unique_ptr<LoopTasks> tasks_;
};

TEST_F(LoopTasksTest, TasksPostedFromAnotherThreadRunInOrderOnTheLoopsThread) {
  std::vector<int> ran;
  std::thread::id loop_thread = std::this_thread::get_id();
  std::vector<std::thread::id> ran_on;
  std::thread poster([&] {
    for (int i = 0; i < 3; ++i) {
      tasks_->post([&, i] {
        ran.push_back(i);
        ran_on.push_back(std::this_thread::get_id());
      });
    }
    postStop();
  });
  runLoop();
  poster.join();
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2}));
  for (auto id : ran_on) EXPECT_EQ(id, loop_thread);
}

TEST_F(LoopTasksTest, ATaskThatThrowsIsReportedAndTheTasksAfterItRun) {
  std::vector<std::string> ran;
  tasks_->post([&] { ran.push_back("before"); });
  tasks_->post([] { throw std::runtime_error("a bug in a task"); });
  tasks_->post([&] { ran.push_back("after"); });
  postStop();
  ::testing::internal::CaptureStderr();
  runLoop();
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(ran, (std::vector<std::string>{"before", "after"}));
  EXPECT_NE(
      log.find("arkroute: internal error in a task on a worker's event loop: a bug in a task"),
      std::string::npos)
      << log;
}

}  // namespace
}  // namespace arkroute
