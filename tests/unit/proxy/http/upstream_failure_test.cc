// How the upstream client fails: refused connections, DNS errors and a silent resolver, connect,
// first-byte and total timeouts, peers that close or reset at every stage, the stale keep-alive
// retry, and malformed responses. Each failure arrives once, quickly, with its real reason.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "proxy/http/upstream.h"
#include "unit/proxy/http/upstream_test_server.h"
#include "unit/proxy/http/upstream_test_support.h"

namespace arkroute::http::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Kind = UpstreamError::Kind;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST(UpstreamFailure, RefusedConnectionIsAConnectError) {
  EventLoop loop;
  uint16_t port = unusedPort();
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(port), PoolOptions{});
  RecordingHandler handler;
  auto call = pool.start(requestFor("/"), &handler);
  EXPECT_FALSE(handler.finished());  // never called back from inside start()
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 2s));
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kConnect);
  EXPECT_EQ(handler.error->message,
            "connect to 127.0.0.1:" + std::to_string(port) + " failed: connection refused");
  EXPECT_FALSE(handler.error->head_received);
  EXPECT_EQ(toString(handler.error->kind), "connect");
  EXPECT_EQ(pool.stats().busy, 0u);
}

TEST(UpstreamFailure, UnknownNameIsADnsError) {
  EventLoop loop;
  FakeDns dns(loop.base(), {{"known.test", "127.0.0.1"}});
  loop.useNameserver(dns.port());
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(443, "nonexistent.invalid"),
                    PoolOptions{});
  RecordingHandler handler;
  auto start = Clock::now();
  auto call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  EXPECT_LT(since(start), 2s);
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kDns);
  EXPECT_EQ(handler.error->message.rfind("DNS lookup failed for nonexistent.invalid: ", 0), 0u)
      << handler.error->message;
}

TEST(UpstreamFailure, SilentResolverIsBoundedByTheConnectTimeout) {
  EventLoop loop;
  SilentUdpPort resolver;
  loop.useNameserver(resolver.port());
  PoolOptions options;
  options.connect_timeout = 300ms;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(8080, "nonexistent.invalid"), options);
  RecordingHandler handler;
  auto start = Clock::now();
  auto call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  EXPECT_GE(since(start), 250ms);
  EXPECT_LT(since(start), 1500ms);
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kTimeout);
  EXPECT_EQ(handler.error->message, "connect to nonexistent.invalid:8080 timed out after 300 ms");
}

TEST(UpstreamFailure, StalledTlsHandshakeHitsTheConnectTimeout) {
  std::atomic<bool> closed{false};
  TestServer server([&](ServerConnection& connection) { closed = connection.waitForClose(5s); });
  std::string error;
  SSL_CTX* ctx = createClientTlsContext(testCerts().ca_file, true, &error);
  ASSERT_TRUE(ctx) << error;
  EventLoop loop;
  UpstreamEndpoint endpoint = endpointFor(server.port());
  endpoint.tls = true;
  endpoint.ssl_ctx = ctx;
  PoolOptions options;
  options.connect_timeout = 200ms;
  auto pool = std::make_unique<UpstreamPool>(loop.base(), loop.dns(), endpoint, options);
  RecordingHandler handler;
  auto call = pool->start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kTimeout);
  EXPECT_EQ(handler.error->message, "TLS handshake with 127.0.0.1:" +
                                        std::to_string(server.port()) + " timed out after 200 ms");
  EXPECT_TRUE(loop.runUntil([&] { return closed.load(); }, 3s));
  call.reset();
  pool.reset();
  SSL_CTX_free(ctx);
}

TEST(UpstreamFailure, FirstByteTimeout) {
  std::atomic<bool> closed{false};
  TestServer server([&](ServerConnection& connection) {
    ReceivedRequest request;
    if (connection.readRequest(&request)) closed = connection.waitForClose(5s);
  });
  EventLoop loop;
  PoolOptions options;
  options.first_byte_timeout = 200ms;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), options);
  RecordingHandler handler;
  auto start = Clock::now();
  auto call = pool.start(requestFor("/slow"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  EXPECT_GE(since(start), 190ms);
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kTimeout);
  EXPECT_EQ(handler.error->message, "no response from upstream within 200 ms");
  EXPECT_FALSE(handler.error->head_received);
  EXPECT_TRUE(loop.runUntil([&] { return closed.load(); }, 3s));  // timed out: never reused
  EXPECT_EQ(pool.stats().idle, 0u);
}

TEST(UpstreamFailure, TotalTimeoutCoversASlowBody) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    connection.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst");
    connection.waitForClose(5s);
  });
  EventLoop loop;
  PoolOptions options;
  options.total_timeout = 300ms;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), options);
  RecordingHandler handler;
  auto start = Clock::now();
  auto call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  EXPECT_GE(since(start), 290ms);
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kTimeout);
  EXPECT_EQ(handler.error->message, "upstream call exceeded the total timeout of 300 ms");
  EXPECT_TRUE(handler.error->head_received);
  EXPECT_EQ(handler.body, "first");
}

TEST(UpstreamFailure, TotalTimeoutRunsWhileWaitingForAConnection) {
  TestServer server([](ServerConnection& connection) { connection.waitForClose(5s); });
  EventLoop loop;
  PoolOptions options;
  options.max_connections = 1;
  options.total_timeout = 800ms;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), options);
  RecordingHandler first;
  auto first_call = pool.start(requestFor("/1"), &first);
  loop.runFor(400ms);
  RecordingHandler second;
  auto second_start = Clock::now();
  auto second_call = pool.start(requestFor("/2"), &second);
  EXPECT_EQ(pool.stats().waiting, 1u);
  ASSERT_TRUE(loop.runUntil([&] { return second.finished(); }, 3s));
  // Due 800 ms after start(), queueing included; restarted when the first call's connection
  // freed up (400 ms in), it would end 1200 ms after start().
  EXPECT_LT(since(second_start), 1000ms);
  ASSERT_TRUE(first.error);
  ASSERT_TRUE(second.error);
  EXPECT_EQ(second.error->kind, Kind::kTimeout);
}

TEST(UpstreamFailure, EarlyResponseStopsTheFirstByteClockForGood) {
  TestServer server([](ServerConnection& connection) {
    connection.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");  // before the upload
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    std::this_thread::sleep_for(400ms);
    connection.write("hello");
    connection.waitForClose(5s);
  });
  EventLoop loop;
  PoolOptions options;
  options.first_byte_timeout = 150ms;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), options);
  RecordingHandler handler;
  auto call =
      pool.start(requestFor("/upload", "POST", std::string(4 * 1024 * 1024, 'u')), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  ASSERT_TRUE(handler.completed) << handler.error->message;
  EXPECT_EQ(handler.body, "hello");
}

TEST(UpstreamFailure, PeerClosingMidBodyIsAResetAfterTheHead) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    connection.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  auto call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kReset);
  EXPECT_TRUE(handler.error->head_received);
  EXPECT_EQ(handler.status, 200);
  EXPECT_EQ(handler.body, "partial");
}

// A body framed by the connection's close ends only with an orderly close: a reset may have cut
// it, and passing it on as whole would hide the cut from the client (and from the cache).
TEST(UpstreamFailure, CloseDelimitedBodyCutByAResetIsNotComplete) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    connection.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"data\":[");
    std::this_thread::sleep_for(100ms);  // the head and the body's start are read
    connection.reset();
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  auto call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  EXPECT_FALSE(handler.completed);
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kReset);
  EXPECT_TRUE(handler.error->head_received);
  EXPECT_EQ(handler.error->message, "connection reset before the response body was complete");
  EXPECT_EQ(handler.body, "{\"data\":[");
}

TEST(UpstreamFailure, PeerResettingBeforeAnyByteOnAFreshConnectionIsNotRetried) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (connection.readRequest(&request)) connection.reset();
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  auto call = pool.start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kReset);
  EXPECT_EQ(handler.error->message, "connection closed before response");
  EXPECT_FALSE(handler.error->head_received);
  loop.runFor(50ms);
  EXPECT_EQ(server.accepted(), 1);
}

TEST(UpstreamFailure, IdleConnectionClosedByTheServerIsReplaced) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (connection.readRequest(&request)) connection.write(httpResponse(200, request.target));
  });  // answers one request per connection, then closes
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler first;
  auto first_call = pool.start(requestFor("/1"), &first);
  ASSERT_TRUE(loop.runUntil([&] { return first.finished(); }));
  ASSERT_TRUE(first.completed);
  EXPECT_TRUE(loop.runUntil([&] { return pool.stats().idle == 0; }, 2s));  // noticed the EOF
  RecordingHandler second;
  auto second_call = pool.start(requestFor("/2"), &second);
  ASSERT_TRUE(loop.runUntil([&] { return second.finished(); }));
  ASSERT_TRUE(second.completed);
  EXPECT_EQ(second.body, "/2");
  EXPECT_FALSE(second_call->reusedConnection());
  EXPECT_EQ(server.accepted(), 2);
}

// The server takes the whole second request on the pooled connection and closes without a byte.
// It may have processed it (a paid generation): the call fails, and it is not sent again.
TEST(UpstreamFailure, APooledConnectionClosedAfterTakingTheWholeRequestIsNotResent) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    if (connection.readRequest(&request)) connection.write(httpResponse(200, request.target));
    connection.readRequest(&request);
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler first;
  auto first_call = pool.start(requestFor("/1"), &first);
  ASSERT_TRUE(loop.runUntil([&] { return first.finished(); }));
  RecordingHandler second;
  auto second_call = pool.start(requestFor("/2"), &second);
  EXPECT_TRUE(second_call->reusedConnection());
  ASSERT_TRUE(loop.runUntil([&] { return second.finished(); }));
  ASSERT_TRUE(second.error);
  EXPECT_EQ(second.error->kind, Kind::kReset);
  EXPECT_EQ(second.error->message, "connection closed before response");
  loop.runFor(50ms);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(pool.stats().connections_opened, 1u);
}

// The stale keep-alive race: the server resets the pooled connection before the second request
// (32 MiB, more than the sockets hold) has gone out whole. It never had the request, so the pool
// sends it once more on a fresh connection; retry_answers says whether that one answers.
void runStaleKeepAlive(bool retry_answers) {
  TestServer server([retry_answers](ServerConnection& connection) {
    ReceivedRequest request;
    if (connection.index() == 0) {
      if (connection.readRequest(&request)) connection.write(httpResponse(200, request.target));
      connection.readAtLeast(64 << 10);  // part of the second request, then a reset
      connection.reset();
      return;
    }
    if (!connection.readRequest(&request)) return;
    if (retry_answers) {
      connection.write(httpResponse(
          200, "retried " + request.target + " " + std::to_string(request.body.size())));
      connection.waitForClose(5s);
    }
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler first;
  auto first_call = pool.start(requestFor("/1"), &first);
  ASSERT_TRUE(loop.runUntil([&] { return first.finished(); }));
  RecordingHandler second;
  auto second_call = pool.start(requestFor("/2", "POST", std::string(32 << 20, 'x')), &second);
  EXPECT_TRUE(second_call->reusedConnection());
  ASSERT_TRUE(loop.runUntil([&] { return second.finished(); }, 10s));
  if (retry_answers) {
    ASSERT_TRUE(second.completed) << second.error->message;
    EXPECT_EQ(second.body, "retried /2 " + std::to_string(32 << 20));
    EXPECT_FALSE(second_call->reusedConnection());
  } else {
    ASSERT_TRUE(second.error);
    EXPECT_EQ(second.error->kind, Kind::kReset);
  }
  loop.runFor(50ms);
  EXPECT_EQ(server.accepted(), 2);  // retried once, never twice
  EXPECT_EQ(pool.stats().connections_opened, 2u);
}

TEST(UpstreamFailure, StaleKeepAliveConnectionIsRetriedOnAFreshOne) {
  runStaleKeepAlive(true);
}

TEST(UpstreamFailure, StaleKeepAliveRetryHappensOnlyOnce) {
  runStaleKeepAlive(false);
}

// The error a plain-HTTP call gets when the server answers its request with these bytes.
std::string protocolErrorFor(std::string answer) {
  TestServer server([answer](ServerConnection& connection) {
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    connection.write(answer);
    connection.waitForClose(5s);
  });
  EventLoop loop;
  UpstreamPool pool(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  RecordingHandler handler;
  auto call = pool.start(requestFor("/"), &handler);
  EXPECT_TRUE(loop.runUntil([&] { return handler.finished(); }, 3s));
  if (!handler.error) return "no error";
  EXPECT_EQ(handler.error->kind, Kind::kProtocol);
  EXPECT_EQ(handler.callbacks_after_end, 0);
  return handler.error->message;
}

TEST(UpstreamFailure, MalformedResponseIsAProtocolError) {
  std::string message = protocolErrorFor("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  EXPECT_EQ(message.rfind("invalid HTTP response: ", 0), 0u) << message;
  EXPECT_EQ(message.find("TLS"), std::string::npos) << message;
}

TEST(UpstreamFailure, ATlsAnswerToPlainHttpSaysToUseHttps) {
  // A TLS alert record (handshake failure), as a TLS server answers a plain-text request.
  std::string message = protocolErrorFor(std::string("\x15\x03\x01\x00\x02\x02\x28", 7));
  EXPECT_EQ(message.rfind("invalid HTTP response: ", 0), 0u) << message;
  EXPECT_NE(message.find("the server answered in TLS"), std::string::npos) << message;
}

}  // namespace
}  // namespace arkroute::http::testing
