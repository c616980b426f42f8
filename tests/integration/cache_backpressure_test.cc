// Integration: a url answer exists only as a stored image, so when the cache's writer is behind
// (cache.max_pending_bytes reached) a url answer waits for room instead of failing. Every answer
// of a burst is a 200 whose URLs serve the image, and arkroute_cache_url_waits_total shows the
// waits happened. Before, the burst got 500 image_not_cacheable for images already paid for.
// Also: what cache.memory_bytes keeps in memory.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

// A gateway with the cache on and cache_toml added to its [cache] table.
GatewayOptions cachedWith(Simulator& sim, const std::string& cache_toml) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n" + cache_toml;
  return options;
}

double metric(uint16_t port, const std::string& name) {
  std::string text = httpGet(port, "/metrics").body;
  size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

// Sends `count` url requests with distinct prompts at once; returns how many were answered 200
// with a URL that serves a PNG.
int urlBurst(uint16_t port, int round, int count) {
  std::vector<std::string> urls(count);
  std::vector<HttpResponse> answers(count);
  std::vector<std::thread> clients;
  for (int i = 0; i < count; ++i) {
    clients.emplace_back([&, i] {
      answers[i] =
          httpPostJson(port, "/v1/images/generations",
                       R"({"model":"gpt-image-1","response_format":"url","prompt":"burst )" +
                           std::to_string(round) + " " + std::to_string(i) + "\"}");
    });
  }
  for (std::thread& client : clients) client.join();
  int served = 0;
  for (const HttpResponse& answer : answers) {
    EXPECT_EQ(answer.status, 200) << answer.body;
    if (answer.status != 200) continue;
    std::string url = json::parse(answer.body)["data"][0]["url"];
    std::string path = url.substr(url.find("/v1/images/cache/"));
    HttpResponse image = httpGet(port, path);
    EXPECT_EQ(image.status, 200) << url;
    if (image.status == 200 && looksLikePng(image.body)) ++served;
  }
  return served;
}

TEST(CacheBackpressure, UrlAnswersWaitForTheWriterInsteadOfFailing) {
  Simulator sim({"--payload-bytes", "400000"});  // ~530 KB of JSON per answer
  // Room for one answer at a time: a burst finds the writer behind.
  GatewayOptions options = cachedWith(sim, "max_pending_bytes = \"1MiB\"\n");
  options.workers = 1;  // one thread checks for room and inserts: no race between two
  Gateway gateway(options);
  constexpr int kBurst = 24;
  // Whether a given burst outruns the writer depends on scheduling: up to three bursts.
  for (int round = 0; round < 3 && metric(gateway.port(), "arkroute_cache_url_waits_total") <= 0;
       ++round) {
    EXPECT_EQ(urlBurst(gateway.port(), round, kBurst), kBurst);
  }
  EXPECT_GT(metric(gateway.port(), "arkroute_cache_url_waits_total"), 0);
  EXPECT_EQ(metric(gateway.port(), "arkroute_cache_dropped_writes_total"), 0)
      << "a url answer that waits is not a dropped write";
}

// A url request waiting for an identical b64_json one gets its images even when the cache dropped
// them (the b64_json request does not wait for room): it stores them itself, waiting for room, and
// its URLs resolve. Before, it got 500 image_not_cacheable for images already paid for.
TEST(CacheBackpressure, UrlRequestsStoreTheImagesOfTheB64RequestTheyWaitedFor) {
  Simulator sim({"--payload-bytes", "400000", "--latency-ms", "1000"});
  GatewayOptions options = cachedWith(sim, "max_pending_bytes = \"1MiB\"\n");
  options.workers = 1;
  Gateway gateway(options);
  constexpr int kPairs = 12;
  int requests = 0;
  // Whether the writer falls behind in a round depends on scheduling: up to three rounds.
  for (int round = 0;
       round < 3 && metric(gateway.port(), "arkroute_cache_dropped_writes_total") <= 0; ++round) {
    std::vector<HttpResponse> urls(kPairs);
    std::vector<std::thread> clients;
    auto prompt = [round](int i) {
      return "pair " + std::to_string(round) + " " + std::to_string(i);
    };
    for (int i = 0; i < kPairs; ++i) {
      clients.emplace_back([&, i] {
        httpPostJson(gateway.port(), "/v1/images/generations",
                     R"({"model":"gpt-image-1","prompt":")" + prompt(i) + "\"}");
      });
    }
    // Each url request joins as a waiter: its b64_json twin is upstream (for a second) by then.
    for (int i = 0; i < 2000 && sim.requests() < requests + kPairs; ++i) {
      std::this_thread::sleep_for(5ms);
    }
    for (int i = 0; i < kPairs; ++i) {
      clients.emplace_back([&, i] {
        urls[i] = httpPostJson(
            gateway.port(), "/v1/images/generations",
            R"({"model":"gpt-image-1","response_format":"url","prompt":")" + prompt(i) + "\"}");
      });
    }
    for (std::thread& client : clients) client.join();
    requests += kPairs;
    for (const HttpResponse& answer : urls) {
      ASSERT_EQ(answer.status, 200) << answer.body;
      EXPECT_EQ(answer.header("x-arkroute-cache"), "COALESCED");
      std::string url = json::parse(answer.body)["data"][0]["url"];
      HttpResponse image = httpGet(gateway.port(), url.substr(url.find("/v1/images/cache/")));
      EXPECT_EQ(image.status, 200) << url;
      EXPECT_TRUE(looksLikePng(image.body)) << url;
    }
  }
  EXPECT_GT(metric(gateway.port(), "arkroute_cache_dropped_writes_total"), 0)
      << "the b64_json answers never found the writer behind";
  EXPECT_EQ(sim.requests(), requests) << "one generation per pair";
}

// cache.memory_bytes bounds the entries kept in memory once written; the rest are read back from
// the database.
TEST(CacheBackpressure, MemoryBytesBoundsTheEntriesKeptInMemory) {
  Simulator sim({"--payload-bytes", "400000"});
  Gateway gateway(cachedWith(sim, "memory_bytes = \"1MiB\"\n"));
  auto body = [](int i) {
    return R"({"model":"gpt-image-1","prompt":"in memory )" + std::to_string(i) + "\"}";
  };
  for (int i = 0; i < 6; ++i) {  // ~3 MB of entries
    ASSERT_EQ(httpPostJson(gateway.port(), "/v1/images/generations", body(i)).status, 200);
  }
  double held = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    held = metric(gateway.port(), "arkroute_cache_memory_bytes");  // written entries are trimmed
    if (held > 0 && held <= 1 << 20) break;
  }
  EXPECT_GT(held, 0);
  EXPECT_LE(held, 1 << 20);
  for (int i = 0; i < 6; ++i) {
    HttpResponse hit = httpPostJson(gateway.port(), "/v1/images/generations", body(i));
    EXPECT_EQ(hit.header("x-arkroute-cache"), "HIT") << i;
  }
  EXPECT_EQ(sim.requests(), 6);
}

// b64_json answers do not need the cache: past the bound they are served and not stored.
TEST(CacheBackpressure, B64AnswersAreServedWhenTheWriterIsBehind) {
  Simulator sim({"--payload-bytes", "400000"});
  Gateway gateway(cachedWith(sim, "max_pending_bytes = \"1MiB\"\n"));
  // Whether a burst outruns the writer depends on scheduling: up to three bursts.
  for (int round = 0;
       round < 3 && metric(gateway.port(), "arkroute_cache_dropped_writes_total") <= 0; ++round) {
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int i = 0; i < 24; ++i) {
      clients.emplace_back([&, i] {
        HttpResponse answer =
            httpPostJson(gateway.port(), "/v1/images/generations",
                         R"({"model":"gpt-image-1","prompt":"b64 burst )" + std::to_string(round) +
                             " " + std::to_string(i) + "\"}");
        if (answer.status == 200 && answer.body.find("\"b64_json\"") != std::string::npos) ++ok;
      });
    }
    for (std::thread& client : clients) client.join();
    EXPECT_EQ(ok, 24) << "every answer is served, stored or not";
  }
  EXPECT_GT(metric(gateway.port(), "arkroute_cache_dropped_writes_total"), 0)
      << "no burst found the writer behind";
  EXPECT_EQ(metric(gateway.port(), "arkroute_cache_url_waits_total"), 0);
}

}  // namespace
}  // namespace arkroute::testing
