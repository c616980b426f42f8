// Integration: the cache survives SIGKILL in the middle of a write-heavy load. After a restart the
// gateway opens the same database and every entry it serves is byte-identical to what the
// (deterministic) simulator generates for that prompt; no torn record is ever served.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

std::string bodyFor(int i) {
  return R"({"model":"gpt-image-1","prompt":"durable image )" + std::to_string(i) + "\"}";
}

TEST(CacheDurability, SigkillDuringWritesNeverServesATornEntry) {
  Simulator sim({"--payload-bytes", "200000"});
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  constexpr int kPrompts = 120;
  std::atomic<int> next{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = next++; i < kPrompts && !killed; i = next++) {
        httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(i));
      }
    });
  }
  while (next < kPrompts / 2) std::this_thread::sleep_for(5ms);
  gateway.process().signal(SIGKILL);
  killed = true;
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(gateway.process().waitExit(5s), 128 + SIGKILL);

  gateway.restart(SIGTERM);
  ASSERT_NE(gateway.port(), 0) << "the gateway must open its database after a SIGKILL";
  int hits = 0;
  for (int i = 0; i < kPrompts; ++i) {
    HttpResponse served = httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(i));
    HttpResponse truth = httpPostJson(sim.port(), "/v1/images/generations", bodyFor(i));
    ASSERT_EQ(served.status, 200) << i;
    ASSERT_EQ(served.body, truth.body)
        << "prompt " << i << " served " << served.header("x-arkroute-cache");
    hits += served.header("x-arkroute-cache") == "HIT";
  }
  EXPECT_GT(hits, 0) << "entries written before the kill should have survived";
}

}  // namespace
}  // namespace arkroute::testing
