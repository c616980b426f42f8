// PoolOptions::counters: the shared per-upstream totals metrics read, fed by every pool that has
// them (here two pools, as two workers would have), counting opened and reused connections.
#include <gtest/gtest.h>

#include <memory>

#include "proxy/http/upstream.h"
#include "unit/proxy/http/upstream_test_server.h"
#include "unit/proxy/http/upstream_test_support.h"

namespace arkroute::http::testing {
namespace {

using namespace std::chrono_literals;

TEST(UpstreamCounters, SharedCountersSumOpenedAndReusedAcrossPools) {
  TestServer server([](ServerConnection& connection) {
    ReceivedRequest request;
    while (connection.readRequest(&request)) connection.write(httpResponse(200, "ok"));
  });
  EventLoop loop;
  auto counters = std::make_shared<ConnectionCounters>();
  PoolOptions options;
  options.counters = counters;
  UpstreamPool first(loop.base(), loop.dns(), endpointFor(server.port()), options);
  UpstreamPool second(loop.base(), loop.dns(), endpointFor(server.port()), options);
  UpstreamPool uncounted(loop.base(), loop.dns(), endpointFor(server.port()), PoolOptions{});
  for (UpstreamPool* pool : {&first, &first, &first, &second, &uncounted}) {
    RecordingHandler handler;
    auto call = pool->start(requestFor("/x"), &handler);
    ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }));
    ASSERT_TRUE(handler.completed);
  }
  EXPECT_EQ(counters->opened.total(), 2u);  // one connection per counted pool
  EXPECT_EQ(counters->reused.total(), 2u);  // the second and third requests on `first`
  EXPECT_EQ(first.stats().connections_opened, 1u);
  EXPECT_EQ(first.stats().connections_reused, 2u);
  EXPECT_EQ(uncounted.stats().connections_opened, 1u);
}

}  // namespace
}  // namespace arkroute::http::testing
