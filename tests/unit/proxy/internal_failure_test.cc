// runGuarded: a step that throws (a bug) hands what() to its fallback, so whoever waits on the step
// hears back; a fallback that throws too is written to stderr; nothing leaves runGuarded.
#include "proxy/internal_failure.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace arkroute {
namespace {

TEST(RunGuarded, AStepThatReturnsNeverCallsItsFallback) {
  std::vector<std::string> happened;
  runGuarded([&] { happened.push_back("step"); },
             [&](const std::string& what) { happened.push_back("fallback: " + what); }, "test");
  EXPECT_EQ(happened, std::vector<std::string>{"step"});
}

TEST(RunGuarded, AStepThatThrowsHandsWhatToItsFallback) {
  std::vector<std::string> failures;
  auto record = [&](const std::string& what) { failures.push_back(what); };
  runGuarded([] { throw std::out_of_range("a bug in a retry"); }, record, "test");
  runGuarded([] { throw 42; }, record, "test");
  EXPECT_EQ(failures, (std::vector<std::string>{"a bug in a retry",
                                                "an exception that is not a std::exception"}));
}

TEST(RunGuarded, AFallbackThatThrowsTooIsReportedAndGoesNoFurther) {
  ::testing::internal::CaptureStderr();
  EXPECT_NO_THROW(runGuarded([] { throw std::runtime_error("first"); },
                             [](const std::string&) { throw std::runtime_error("second"); },
                             "request r-7's failure"));
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(log, "arkroute: internal error in request r-7's failure: second\n");
}

}  // namespace
}  // namespace arkroute
