// A Kling call whose response handler throws (a bug in the handler) fails that call alone, as a
// proxied call does: the handler hears of it once as a kHandler error carrying what(), and what no
// callback is left to receive is written to stderr. The loop goes on; the process does not end.
// The calls here end before any task exists: Kling refuses the request, or its API is unreachable.
#include "proxy/kling_call.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "unit/proxy/http/upstream_test_support.h"

namespace arkroute::kling {
namespace {

using http::testing::RecordingHandler;
using Kind = http::UpstreamError::Kind;

class KlingCallHandlerFailure : public ::testing::Test {
 protected:
  KlingCallHandlerFailure()
      : api_(loop_.base(), loop_.dns(), http::testing::endpointFor(http::testing::unusedPort()),
             http::PoolOptions{}) {}

  // A generation Kling cannot make (the size has no aspect ratio of Kling's): refused at once.
  static http::OutgoingRequest refusedRequest() {
    return generation(R"({"model":"k","prompt":"p","size":"1792x1024"})");
  }
  // A generation Kling could make: it goes to the API, which refuses the connection.
  static http::OutgoingRequest submittedRequest() {
    return generation(R"({"model":"k","prompt":"a lighthouse"})");
  }

  void start(http::OutgoingRequest request, RecordingHandler& handler) {
    CallSetup setup;
    setup.base = loop_.base();
    setup.dns = loop_.dns();
    setup.api = &api_;
    setup.upstream_name = "kling-test";
    setup.credentials = "access:secret";
    call_ = startCall(std::move(setup), std::move(request), &handler);
  }

  static void expectHandlerError(const RecordingHandler& handler, const std::string& message) {
    ASSERT_TRUE(handler.error);
    EXPECT_EQ(handler.error->kind, Kind::kHandler);
    EXPECT_EQ(handler.error->message, message);
    EXPECT_TRUE(handler.error->head_received) << "final: a bug is not retried";
  }

  http::testing::EventLoop loop_;
  http::UpstreamPool api_;
  std::unique_ptr<http::UpstreamCall> call_;

 private:
  static http::OutgoingRequest generation(std::string body) {
    http::OutgoingRequest request;
    request.method = "POST";
    request.path = "/v1/images/generations";
    request.headers.set("Content-Type", "application/json");
    request.body = std::move(body);
    return request;
  }
};

TEST_F(KlingCallHandlerFailure, AThrowingHeadCallbackIsTheCallsHandlerError) {
  RecordingHandler handler;
  handler.on_head = [] { throw std::runtime_error("a bug reading Kling's refusal"); };
  start(refusedRequest(), handler);
  ASSERT_TRUE(loop_.runUntil([&] { return handler.finished(); }));
  EXPECT_EQ(handler.status, 400) << "the head was Kling's refusal";
  expectHandlerError(handler, "a bug reading Kling's refusal");
  EXPECT_EQ(handler.body_calls, 0) << "the rest of that answer is for nobody";
  EXPECT_FALSE(handler.completed);
  EXPECT_EQ(handler.callbacks_after_end, 0);
}

TEST_F(KlingCallHandlerFailure, AnExceptionThatIsNoStdExceptionIsCaughtToo) {
  RecordingHandler handler;
  handler.on_body = [] { throw 7; };
  start(refusedRequest(), handler);
  ASSERT_TRUE(loop_.runUntil([&] { return handler.finished(); }));
  expectHandlerError(handler, "an exception that is not a std::exception");
  EXPECT_FALSE(handler.completed);
}

TEST_F(KlingCallHandlerFailure, AThrowingCompleteCallbackIsFollowedByTheHandlerError) {
  RecordingHandler handler;
  handler.on_complete = [] { throw std::runtime_error("a bug at the end"); };
  start(refusedRequest(), handler);
  ASSERT_TRUE(loop_.runUntil([&] { return handler.error.has_value(); }));
  EXPECT_TRUE(handler.completed);
  expectHandlerError(handler, "a bug at the end");
  EXPECT_EQ(handler.callbacks_after_end, 1) << "exactly the one error, after the complete";
}

TEST_F(KlingCallHandlerFailure, AThrowingErrorCallbackGoesToStderr) {
  RecordingHandler handler;
  handler.on_error = [] { throw std::runtime_error("a bug in the error path"); };
  ::testing::internal::CaptureStderr();
  start(submittedRequest(), handler);
  bool ended = loop_.runUntil([&] { return handler.finished(); });
  loop_.runFor(std::chrono::milliseconds(20));
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(ended);
  EXPECT_EQ(handler.error->kind, Kind::kConnect) << "the API was unreachable";
  EXPECT_EQ(handler.callbacks_after_end, 0) << "no second error for the handler's own";
  EXPECT_NE(log.find("arkroute: upstream 'kling-test': a response handler failed (at the end of "
                     "its call): a bug in the error path"),
            std::string::npos)
      << log;
}

TEST_F(KlingCallHandlerFailure, AHandlerThatDestroysItsCallAndThenThrowsGoesToStderr) {
  RecordingHandler handler;
  handler.on_head = [&] {
    call_.reset();
    throw std::runtime_error("a bug after letting go");
  };
  ::testing::internal::CaptureStderr();
  start(refusedRequest(), handler);
  loop_.runUntil([&] { return handler.heads > 0; });
  loop_.runFor(std::chrono::milliseconds(20));
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(handler.error) << "a destroyed call calls nothing back";
  EXPECT_NE(log.find("arkroute: upstream 'kling-test': a response handler failed (after its call "
                     "ended): a bug after letting go"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace arkroute::kling
