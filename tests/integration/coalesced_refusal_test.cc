// Integration: identical requests waiting for one call (coalescing) when that call fails in a way
// a repeat would too: the provider's 5xx, a timeout. Every waiter gives the same answer at once,
// none repeats the call (or pays for one), and the next request fetches anew. A refusal of the
// request itself (a 400) or a call that ends without an image hands the job to one waiter instead.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

const std::string kBody = R"({"model":"priced","prompt":"one call for all"})";

GatewayOptions cachedPricedGateway(const Simulator& sim, std::string upstream_toml = "") {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.extra_upstream_toml = std::move(upstream_toml);
  options.cache_toml = "enabled = true\n";
  options.extra_toml =
      "[[model]]\nname = \"priced\"\nupstream = \"sim\"\n"
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.04 }\n";
  return options;
}

HttpResponse generateOne(uint16_t port, std::vector<std::pair<std::string, std::string>> headers) {
  return httpPostJson(port, "/v1/images/generations", kBody, std::move(headers));
}

// The leader sends with `fault` (and a latency, so that the others join it); then `waiters`
// identical requests without a fault. Returns the leader's answer; the waiters' in *answers.
HttpResponse leaderAndWaiters(uint16_t port, const std::string& fault, size_t waiters,
                              std::vector<HttpResponse>* answers) {
  HttpResponse leader;
  std::thread first([&] {
    leader = generateOne(port, {{"x-sim-fault", fault}, {"x-sim-latency-ms", "1000"}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  answers->resize(waiters);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < waiters; ++i) {
    clients.emplace_back([&, i] { (*answers)[i] = generateOne(port, {}); });
  }
  for (auto& client : clients) client.join();
  first.join();
  return leader;
}

TEST(CoalescedRefusal, TheProvidersFailureIsEveryWaitersAnswerWithoutAnotherCall) {
  Simulator sim;
  Gateway gateway(cachedPricedGateway(sim, "max_retries = 0\n"));
  std::vector<HttpResponse> waiters;
  HttpResponse leader = leaderAndWaiters(gateway.port(), "500", 4, &waiters);
  ASSERT_EQ(leader.status, 500) << leader.body;
  for (const HttpResponse& waiter : waiters) {
    EXPECT_EQ(waiter.status, 500) << waiter.body << waiter.error;
    EXPECT_EQ(waiter.body, leader.body);
    EXPECT_EQ(waiter.header("content-type"), "application/json");
    EXPECT_EQ(waiter.header("x-arkroute-cache"), "COALESCED");
    EXPECT_EQ(waiter.header("x-arkroute-cost-usd"), "0.000000");
    EXPECT_NE(waiter.header("x-request-id"), leader.header("x-request-id"));
  }
  EXPECT_EQ(sim.requests(), 1) << "one call, failed, for the five";
  json totals = json::parse(httpGet(gateway.port(), "/v1/usage").body)["totals"];
  EXPECT_EQ(totals["cache_hits"], 0) << "an error is no cache hit: " << totals;
  EXPECT_EQ(generateOne(gateway.port(), {}).header("x-arkroute-cache"), "MISS") << "fetched anew";
  EXPECT_EQ(sim.requests(), 2);
  EXPECT_NE(httpGet(gateway.port(), "/metrics").body.find("arkroute_cache_refused_waiters_total 4"),
            std::string::npos);
}

// A 4xx other than 429 may come from what is outside the cache key (stream, user, a forwarded
// header; here the leader's own fault header): one waiter takes over and gets its own answer.
TEST(CoalescedRefusal, ARefusalOfTheRequestItselfIsHandedToOneWaiter) {
  Simulator sim;
  Gateway gateway(cachedPricedGateway(sim));
  std::vector<HttpResponse> waiters;
  HttpResponse leader = leaderAndWaiters(gateway.port(), "moderation", 4, &waiters);
  EXPECT_EQ(leader.status, 400) << leader.body;
  for (const HttpResponse& waiter : waiters) {
    EXPECT_EQ(waiter.status, 200) << waiter.body << waiter.error;
  }
  EXPECT_EQ(sim.requests(), 2) << "the refused call and one for the four waiters";
}

TEST(CoalescedRefusal, ATimeoutIsEveryWaitersAnswerAndOnlyTheCallIsCharged) {
  Simulator sim;
  Gateway gateway(cachedPricedGateway(sim, "first_byte_timeout = \"600ms\"\n"));
  std::vector<HttpResponse> waiters;
  HttpResponse leader = leaderAndWaiters(gateway.port(), "stall", 3, &waiters);
  ASSERT_EQ(leader.status, 504) << leader.body;
  EXPECT_EQ(leader.header("x-arkroute-cost-usd"), "0.040000");
  for (const HttpResponse& waiter : waiters) {
    EXPECT_EQ(waiter.status, 504) << waiter.body << waiter.error;
    EXPECT_EQ(waiter.header("x-arkroute-cost-usd"), "0.000000");
    EXPECT_EQ(json::parse(waiter.body)["error"]["code"], "upstream_timeout") << waiter.body;
  }
  EXPECT_EQ(sim.requests(), 1) << "not one stalled call after another";
  EXPECT_DOUBLE_EQ(chargedUsd(gateway.port(), 4), 0.04) << "the one call the provider had";
}

// A writer whose client left goes on for the cache but no longer retries or falls back, as a
// waiter would: its failure hands the job to one waiter, which gets its own answer.
TEST(CoalescedRefusal, TheFailureOfAWriterWhoseClientLeftIsHandedToOneWaiter) {
  Simulator sim;
  Gateway gateway(cachedPricedGateway(sim, "max_retries = 0\n"));
  int fd = sendGenerationAndStay(gateway.port(), kBody,
                                 "x-sim-fault: 500\r\nx-sim-latency-ms: 1000\r\n");
  ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<HttpResponse> waiters(3);
  std::vector<std::thread> clients;
  for (auto& waiter : waiters) {
    clients.emplace_back([&] { waiter = generateOne(gateway.port(), {}); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  close(fd);  // the writer's client leaves before the provider's 500
  for (auto& client : clients) client.join();
  for (const HttpResponse& waiter : waiters) {
    EXPECT_EQ(waiter.status, 200) << waiter.body << waiter.error;
  }
  EXPECT_EQ(sim.requests(), 2) << "the failed call and one for the three waiters";
}

TEST(CoalescedRefusal, ACallThatEndsWithoutAnImageHandsTheJobToOneWaiter) {
  Simulator sim;
  Gateway gateway(cachedPricedGateway(sim));
  std::vector<HttpResponse> waiters;
  HttpResponse leader = leaderAndWaiters(gateway.port(), "no-images", 4, &waiters);
  EXPECT_EQ(leader.status, 200) << leader.body;
  int miss = 0, coalesced = 0;
  for (const HttpResponse& waiter : waiters) {
    ASSERT_EQ(waiter.status, 200) << waiter.body << waiter.error;
    EXPECT_EQ(waiter.body, waiters[0].body);
    miss += waiter.header("x-arkroute-cache") == "MISS";
    coalesced += waiter.header("x-arkroute-cache") == "COALESCED";
  }
  EXPECT_EQ(miss, 1);
  EXPECT_EQ(coalesced, 3);
  EXPECT_EQ(sim.requests(), 2) << "the imageless call and one for the four waiters";
}

}  // namespace
}  // namespace arkroute::testing
