// Flow control and lifetime of upstream calls: pause holds delivery and resume continues it
// (including bytes already buffered and an EOF seen while paused), cancel closes the connection
// with no further callbacks, and handlers may destroy their call inside any callback.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "proxy/http/upstream.h"
#include "unit/proxy/http/upstream_test_server.h"
#include "unit/proxy/http/upstream_test_support.h"

namespace arkroute::http::testing {
namespace {

using namespace std::chrono_literals;
using Kind = UpstreamError::Kind;

std::string patternBody(size_t size) {
  std::string body(size, '\0');
  for (size_t i = 0; i < size; ++i) body[i] = static_cast<char>('A' + i % 23);
  return body;
}

TEST(UpstreamFlow, PauseOnHeadHoldsTheBodyUntilResume) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    connection.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcde");  // one read
    std::this_thread::sleep_for(50ms);
    connection.write("fghij");
    connection.waitForClose(5s);
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  std::unique_ptr<UpstreamCall> call;
  handler.on_head = [&] { call->pauseReading(); };
  call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.heads == 1; }));
  loop.runFor(300ms);
  EXPECT_EQ(handler.body_calls, 0);
  EXPECT_FALSE(handler.finished());
  call->resumeReading();
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }));
  ASSERT_TRUE(handler.completed);
  EXPECT_EQ(handler.body, "abcdefghij");
}

// awaitingAnswer() says when abandoning the call could waste a generation the provider bills:
// not before the request is sent, yes once it is and no head has come, not after the head.
TEST(UpstreamFlow, AwaitingAnswerSpansFromTheRequestsSendingToTheHead) {
  std::atomic<bool> received{false};
  std::atomic<bool> answer{false};
  TestServer server([&](ServerConnection& connection) {
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    received = true;
    while (!answer) std::this_thread::sleep_for(5ms);
    connection.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
    std::this_thread::sleep_for(100ms);
    connection.write("cd");
    connection.waitForClose(5s);
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  std::unique_ptr<UpstreamCall> call = pool.start(requestFor("/slow"), &handler);
  EXPECT_FALSE(call->awaitingAnswer()) << "not connected yet: nothing sent";
  ASSERT_TRUE(loop.runUntil([&] { return received.load(); }));
  loop.runFor(20ms);
  EXPECT_TRUE(call->awaitingAnswer());
  answer = true;
  ASSERT_TRUE(loop.runUntil([&] { return handler.heads == 1; }));
  EXPECT_FALSE(call->awaitingAnswer()) << "the answer has begun";
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }));
  EXPECT_FALSE(call->awaitingAnswer());
}

// Pauses after every body callback, checks nothing arrives while paused, then resumes.
void expectPausedDeliveryStops(EventLoop& loop, UpstreamPool& pool, const std::string& expected) {
  RecordingHandler handler;
  std::unique_ptr<UpstreamCall> call;
  bool paused = false;
  handler.on_body = [&] {
    call->pauseReading();
    paused = true;
  };
  call = pool.start(requestFor("/big"), &handler);
  int pauses = 0;
  while (!handler.finished()) {
    ASSERT_TRUE(loop.runUntil([&] { return paused || handler.finished(); }));
    if (!paused) break;
    size_t held = handler.body.size();
    loop.runFor(pauses < 3 ? 100ms : 1ms);
    ASSERT_EQ(handler.body.size(), held);
    ASSERT_FALSE(handler.finished());
    ++pauses;
    paused = false;
    call->resumeReading();
  }
  ASSERT_TRUE(handler.completed);
  EXPECT_GE(pauses, 3);
  // One delivery per read of everything the socket holds, not libevent's 4 KiB per read event.
  EXPECT_LT(pauses, static_cast<int>(expected.size() / (8 * 1024)));
  EXPECT_TRUE(handler.body == expected);
}

TEST(UpstreamFlow, PauseStopsDeliveryAndResumeContinuesIt) {
  const std::string body = patternBody(4 * 1024 * 1024);
  TestServer server([&](ServerConnection& connection) {
    ReceivedRequest request;
    while (connection.readRequest(&request)) connection.write(httpResponse(200, body));
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  expectPausedDeliveryStops(loop, pool, body);
  expectPausedDeliveryStops(loop, pool, body);
  EXPECT_EQ(server.accepted(), 1);  // a paused-then-completed response still leaves it reusable
}

TEST(UpstreamFlow, EofWhilePausedIsReportedAfterTheBufferedBytes) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (connection.readRequest(&request)) {
      connection.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
    }
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  std::unique_ptr<UpstreamCall> call;
  handler.on_head = [&] { call->pauseReading(); };
  call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.heads == 1; }));
  loop.runFor(200ms);
  EXPECT_FALSE(handler.finished());
  call->resumeReading();
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }));
  EXPECT_EQ(handler.body, "some");
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kReset);
  EXPECT_TRUE(handler.error->head_received);
}

TEST(UpstreamFlow, CancelMidResponseClosesTheConnectionAndSilencesCallbacks) {
  std::atomic<bool> closed{false};
  TestServer server([&](ServerConnection& connection) {
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    connection.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst part");
    closed = connection.waitForClose(5s);
    connection.write(std::string(990, 'x'));
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  auto call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.body_calls > 0; }));
  call->cancel();
  EXPECT_TRUE(loop.runUntil([&] { return closed.load(); }, 3s));
  loop.runFor(100ms);
  EXPECT_EQ(handler.heads, 1);
  EXPECT_EQ(handler.body_calls, 1);
  EXPECT_FALSE(handler.finished());
  EXPECT_EQ(pool.stats().idle + pool.stats().busy, 0u);
}

TEST(UpstreamFlow, CancelWhileWaitingForAConnectionLeavesTheQueue) {
  TestServer server(TestServer::echoTarget());
  EventLoop loop;
  PoolOptions options;
  options.max_connections = 1;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), options);
  RecordingHandler first, second, third;
  auto first_call = pool.start(requestFor("/1"), &first);
  auto second_call = pool.start(requestFor("/2"), &second);
  auto third_call = pool.start(requestFor("/3"), &third);
  EXPECT_EQ(pool.stats().waiting, 2u);
  second_call.reset();
  EXPECT_EQ(pool.stats().waiting, 1u);
  ASSERT_TRUE(loop.runUntil([&] { return first.finished() && third.finished(); }));
  EXPECT_EQ(third.body, "/3");
  EXPECT_FALSE(second.finished());
}

enum class DestroyIn { kHead, kBody, kComplete, kError };

// The handler destroys its own call inside the given callback; nothing may follow, and ASan
// checks nothing touches the freed call.
void destroyCallInside(DestroyIn where) {
  TestServer server([where](ServerConnection& connection) {
    ReceivedRequest request;
    while (connection.readRequest(&request)) {
      if (where == DestroyIn::kError) return;  // closes before responding
      connection.write(httpResponse(200, "body bytes"));
    }
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  std::unique_ptr<UpstreamCall> call;
  auto destroy = [&] { call.reset(); };
  if (where == DestroyIn::kHead) handler.on_head = destroy;
  if (where == DestroyIn::kBody) handler.on_body = destroy;
  if (where == DestroyIn::kComplete) handler.on_complete = destroy;
  if (where == DestroyIn::kError) handler.on_error = destroy;
  call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return call == nullptr; }));
  loop.runFor(50ms);
  EXPECT_EQ(handler.callbacks_after_end, 0);
  EXPECT_EQ(handler.heads, where == DestroyIn::kError ? 0 : 1);
  EXPECT_EQ(handler.body_calls, where == DestroyIn::kHead || where == DestroyIn::kError ? 0 : 1);
  EXPECT_EQ(handler.completed, where == DestroyIn::kComplete);
  // A call destroyed after completing leaves a reusable connection; the others closed theirs.
  EXPECT_EQ(pool.stats().idle, where == DestroyIn::kComplete ? 1u : 0u);
}

TEST(UpstreamFlow, HandlerMayDestroyItsCallInsideOnHead) {
  destroyCallInside(DestroyIn::kHead);
}

TEST(UpstreamFlow, HandlerMayDestroyItsCallInsideOnBody) {
  destroyCallInside(DestroyIn::kBody);
}

TEST(UpstreamFlow, HandlerMayDestroyItsCallInsideOnComplete) {
  destroyCallInside(DestroyIn::kComplete);
}

TEST(UpstreamFlow, HandlerMayDestroyItsCallInsideOnError) {
  destroyCallInside(DestroyIn::kError);
}

TEST(UpstreamFlow, HandlerMayStartTheNextRequestFromOnComplete) {
  TestServer server(TestServer::echoTarget());
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler first, second;
  std::unique_ptr<UpstreamCall> second_call;
  first.on_complete = [&] { second_call = pool.start(requestFor("/next"), &second); };
  auto first_call = pool.start(requestFor("/first"), &first);
  ASSERT_TRUE(loop.runUntil([&] { return second.finished(); }));
  EXPECT_EQ(second.body, "/next");
  EXPECT_TRUE(second_call->reusedConnection());
  EXPECT_EQ(server.accepted(), 1);
}

TEST(UpstreamFlow, DestroyingThePoolSilencesLiveCalls) {
  TestServer server([](ServerConnection& connection) { connection.waitForClose(5s); });
  EventLoop loop;
  PoolOptions options;
  options.max_connections = 1;
  auto pool =
      std::make_unique<UpstreamPool>(loop.base(), loop.dns(), endpointFor(server.port()), options);
  RecordingHandler running, waiting;
  auto running_call = pool->start(requestFor("/1"), &running);
  auto waiting_call = pool->start(requestFor("/2"), &waiting);
  loop.runFor(50ms);
  pool.reset();
  loop.runFor(50ms);
  running_call->cancel();
  running_call.reset();
  waiting_call.reset();
  EXPECT_FALSE(running.finished());
  EXPECT_FALSE(waiting.finished());
}

}  // namespace
}  // namespace arkroute::http::testing
