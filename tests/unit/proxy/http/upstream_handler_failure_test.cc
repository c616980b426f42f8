// A response handler that throws (a bug in it) fails its own call and nothing else: the handler
// hears of it once as a kHandler error carrying what(), the connection is not reused for the rest
// of that answer, the pool and its loop go on serving, and what no callback is left to receive is
// written to stderr instead of ending the process.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "proxy/http/upstream.h"
#include "unit/proxy/http/upstream_test_server.h"
#include "unit/proxy/http/upstream_test_support.h"

namespace arkroute::http::testing {
namespace {

using Kind = UpstreamError::Kind;

class UpstreamHandlerFailure : public ::testing::Test {
 protected:
  UpstreamHandlerFailure()
      : server_(TestServer::echoTarget()),
        pool_(loop_.base(), loop_.dns(), endpointFor(server_.port()), PoolOptions{}) {}

  // Runs a request whose handler was set up to misbehave, to its end.
  void run(RecordingHandler& handler, const std::string& path = "/first") {
    call_ = pool_.start(requestFor(path), &handler);
    ASSERT_TRUE(loop_.runUntil([&] { return handler.finished(); }));
  }

  static void expectHandlerError(const RecordingHandler& handler, const std::string& message) {
    ASSERT_TRUE(handler.error);
    EXPECT_EQ(handler.error->kind, Kind::kHandler);
    EXPECT_EQ(handler.error->message, message);
  }

  // The pool still serves: a well-behaved request afterwards gets its whole answer.
  void expectTheNextRequestServed() {
    RecordingHandler next;
    auto call = pool_.start(requestFor("/next"), &next);
    ASSERT_TRUE(loop_.runUntil([&] { return next.finished(); }));
    ASSERT_TRUE(next.completed) << next.error->message;
    EXPECT_EQ(next.body, "/next");
  }

  TestServer server_;
  EventLoop loop_;
  UpstreamPool pool_;
  std::unique_ptr<UpstreamCall> call_;
};

TEST_F(UpstreamHandlerFailure, AThrowingHeadCallbackIsTheCallsHandlerErrorAndNoReuse) {
  RecordingHandler handler;
  handler.on_head = [] { throw std::runtime_error("a bug reading the head"); };
  run(handler);
  expectHandlerError(handler, "a bug reading the head");
  EXPECT_TRUE(handler.error->head_received);
  EXPECT_EQ(toString(handler.error->kind), "handler");
  EXPECT_EQ(handler.body_calls, 0) << "the rest of that answer is for nobody";
  EXPECT_EQ(handler.callbacks_after_end, 0);
  expectTheNextRequestServed();
  EXPECT_EQ(server_.accepted(), 2) << "the failed call's connection was closed, not reused";
  EXPECT_EQ(pool_.stats().connections_opened, 2u);
}

TEST_F(UpstreamHandlerFailure, AThrowingBodyCallbackIsTheCallsHandlerError) {
  RecordingHandler handler;
  handler.on_body = [] { throw std::length_error("a bug in the body"); };
  run(handler);
  expectHandlerError(handler, "a bug in the body");
  EXPECT_FALSE(handler.completed);
  EXPECT_EQ(handler.callbacks_after_end, 0);
  expectTheNextRequestServed();
  EXPECT_EQ(server_.accepted(), 2);
}

TEST_F(UpstreamHandlerFailure, AnExceptionThatIsNoStdExceptionIsCaughtToo) {
  RecordingHandler handler;
  handler.on_head = [] { throw 7; };
  run(handler);
  expectHandlerError(handler, "an exception that is not a std::exception");
  expectTheNextRequestServed();
}

// The answer was whole and its connection went back to the pool before the handler threw: the
// handler still hears of its own failure, so it can answer its client.
TEST_F(UpstreamHandlerFailure, AThrowingCompleteCallbackIsFollowedByTheHandlerError) {
  RecordingHandler handler;
  handler.on_complete = [] { throw std::runtime_error("a bug at the end"); };
  run(handler);
  EXPECT_TRUE(handler.completed);
  expectHandlerError(handler, "a bug at the end");
  EXPECT_EQ(handler.callbacks_after_end, 1) << "exactly the one error, after the complete";
  expectTheNextRequestServed();
  EXPECT_EQ(server_.accepted(), 1) << "the answer was whole: its connection is reused";
}

TEST_F(UpstreamHandlerFailure, AThrowingErrorCallbackGoesToStderr) {
  UpstreamPool refused(loop_.base(), loop_.dns(), endpointFor(unusedPort()), PoolOptions{});
  RecordingHandler handler;
  handler.on_error = [] { throw std::runtime_error("a bug in the error path"); };
  ::testing::internal::CaptureStderr();
  auto call = refused.start(requestFor("/"), &handler);
  bool ended = loop_.runUntil([&] { return handler.finished(); });
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(ended);
  EXPECT_EQ(handler.error->kind, Kind::kConnect);
  EXPECT_EQ(handler.callbacks_after_end, 0);
  EXPECT_NE(log.find("arkroute: upstream 'test': a response handler failed (at the end of its "
                     "call): a bug in the error path"),
            std::string::npos)
      << log;
  expectTheNextRequestServed();
}

TEST_F(UpstreamHandlerFailure, AHandlerThatDestroysItsCallAndThenThrowsGoesToStderr) {
  RecordingHandler handler;
  handler.on_head = [&] {
    call_.reset();
    throw std::runtime_error("a bug after letting go");
  };
  ::testing::internal::CaptureStderr();
  call_ = pool_.start(requestFor("/first"), &handler);
  loop_.runUntil([&] { return handler.heads > 0; });
  loop_.runFor(std::chrono::milliseconds(50));
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(handler.error) << "a destroyed call calls nothing back";
  EXPECT_NE(log.find("a response handler failed (after its call ended): a bug after letting go"),
            std::string::npos)
      << log;
  expectTheNextRequestServed();
}

}  // namespace
}  // namespace arkroute::http::testing
