// Integration: the content cache end to end — hits make no upstream call, concurrent misses
// coalesce into one, streams are captured and replayed, URLs outlive the provider's, per-request
// cache control, scopes, and the admin API.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

GatewayOptions cachedGateway(const Simulator& sim, std::string extra = "") {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  options.server_toml = "public_url = \"https://images.example.test/\"\n";
  options.extra_toml = std::move(extra);
  options.env = {{"ARKROUTE_ADMIN_TOKEN", "admin-secret"}};
  return options;
}

HttpResponse generate(uint16_t port, const std::string& body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  return httpPostJson(port, "/v1/images/generations", body, std::move(headers));
}

// Sends body `count` times at once, one client thread each; the answers in client order.
std::vector<HttpResponse> generateConcurrently(uint16_t port, const std::string& body,
                                               size_t count) {
  std::vector<HttpResponse> responses(count);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < count; ++i) {
    clients.emplace_back([&, i] { responses[i] = generate(port, body); });
  }
  for (auto& client : clients) client.join();
  return responses;
}

TEST(Cache, MissThenHitMakesOneUpstreamCall) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  const std::string body =
      R"({"model":"gpt-image-1","prompt":"a cached fox","size":"1024x1024","n":1})";
  HttpResponse first = generate(gateway.port(), body);
  HttpResponse second = generate(
      gateway.port(),
      R"({ "size": "1024x1024", "prompt": "a cached fox", "model": "gpt-image-1", "n": 1.0 })");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200) << second.body << " first: " << first.header("x-arkroute-cache")
                                << " " << first.body.size() << " " << first.error;
  EXPECT_EQ(first.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(second.header("x-arkroute-cache"), "HIT");
  EXPECT_FALSE(second.header("age").empty());
  EXPECT_EQ(second.header("x-arkroute-cost-usd"), "0.000000");
  EXPECT_EQ(second.body, first.body) << "a hit serves the original bytes";
  EXPECT_EQ(sim.requests(), 1);
}

TEST(Cache, HundredConcurrentIdenticalMissesMakeOneUpstreamCall) {
  Simulator sim({"--latency-ms", "1500"});
  Gateway gateway(cachedGateway(sim));
  std::vector<HttpResponse> responses =
      generateConcurrently(gateway.port(), R"({"model":"gpt-image-1","prompt":"stampede"})", 100);
  int miss = 0, coalesced = 0, hit = 0;
  for (const HttpResponse& response : responses) {
    ASSERT_EQ(response.status, 200) << response.error;
    EXPECT_EQ(response.body, responses[0].body);
    std::string status = response.header("x-arkroute-cache");
    miss += status == "MISS";
    coalesced += status == "COALESCED";
    hit += status == "HIT";
  }
  EXPECT_EQ(sim.requests(), 1);
  EXPECT_EQ(miss, 1);
  EXPECT_EQ(miss + coalesced + hit, 100);
}

// A fast provider: identical requests keep arriving before, while and after the first one's
// answer is stored. Cache lookups that miss memory run off the event loop, so one can miss just
// before the entry is stored and join after its writer is gone: it must still not pay again.
TEST(Cache, IdenticalRequestsAroundAFastGenerationMakeOneUpstreamCall) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    const std::string body =
        R"({"model":"gpt-image-1","prompt":"burst )" + std::to_string(round) + "\"}";
    std::atomic<int> not_ok{0};
    std::vector<std::thread> clients;
    for (int client = 0; client < 12; ++client) {
      clients.emplace_back([&] {
        for (int i = 0; i < 4; ++i) not_ok += generate(gateway.port(), body).status != 200;
      });
    }
    for (auto& client : clients) client.join();
    EXPECT_EQ(not_ok.load(), 0);
    EXPECT_EQ(sim.requests(), round + 1) << "round " << round;
  }
}

// The request fetching for the others first queues behind max_concurrency, then generates: it
// takes longer than the upstream's timeout in all, but each step stays within its own limit. The
// identical requests waiting for it must not give up at `timeout` and each pay for a call.
TEST(Cache, WaitersOutwaitAWriterThatQueuedBeforeItsCall) {
  Simulator sim({"--latency-ms", "1500"});
  GatewayOptions options = cachedGateway(sim);
  options.extra_upstream_toml = "max_concurrency = 1\ntimeout = \"2s\"\n";
  Gateway gateway(options);
  std::thread blocker([&] {  // holds the one slot for 1.5 s
    EXPECT_EQ(generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"blocker"})").status,
              200);
  });
  std::this_thread::sleep_for(200ms);
  std::vector<HttpResponse> responses =
      generateConcurrently(gateway.port(), R"({"model":"gpt-image-1","prompt":"patient"})", 4);
  blocker.join();
  int miss = 0, coalesced = 0;
  for (const HttpResponse& response : responses) {
    ASSERT_EQ(response.status, 200) << response.body << response.error;
    EXPECT_EQ(response.body, responses[0].body);
    miss += response.header("x-arkroute-cache") == "MISS";
    coalesced += response.header("x-arkroute-cache") == "COALESCED";
  }
  EXPECT_EQ(miss, 1);
  EXPECT_EQ(coalesced, 3);
  EXPECT_EQ(sim.requests(), 2) << "the blocker and one call for the four identical requests";
}

// Two model names for the same provider model share cache entries; a request waiting for the
// other name's generation is served from it under its own name, URLs included.
TEST(Cache, AnAliasWaitingForTheOtherNameIsServedUnderItsOwn) {
  Simulator sim({"--latency-ms", "600"});
  GatewayOptions options = cachedGateway(sim);
  options.models_toml =
      "[[model]]\nname = \"first\"\nupstream = \"sim\"\nupstream_model = \"gpt-image-1\"\n"
      "[[model]]\nname = \"second\"\nupstream = \"sim\"\nupstream_model = \"gpt-image-1\"\n";
  Gateway gateway(options);
  std::thread writer([&] {
    EXPECT_EQ(generate(gateway.port(), R"({"model":"first","prompt":"alias"})").status, 200);
  });
  // Joins as a waiter once the other name's generation is upstream (for 600 ms).
  for (int i = 0; i < 2000 && sim.requests() < 1; ++i) std::this_thread::sleep_for(5ms);
  HttpResponse alias =
      generate(gateway.port(), R"({"model":"second","prompt":"alias","response_format":"url"})");
  writer.join();
  ASSERT_EQ(alias.status, 200) << alias.body;
  EXPECT_EQ(alias.header("x-arkroute-cache"), "COALESCED");
  EXPECT_EQ(alias.header("x-arkroute-model"), "second");
  EXPECT_NE(alias.body.find("/v1/images/cache/"), std::string::npos) << alias.body;
  EXPECT_EQ(sim.requests(), 1);
}

TEST(Cache, StreamedMissIsReplayedAsSseAndServedAsJson) {
  Simulator sim({"--latency-ms", "200"});
  Gateway gateway(cachedGateway(sim));
  const std::string stream_body =
      R"({"model":"gpt-image-1","prompt":"stream cache","stream":true,"partial_images":2})";
  HttpResponse live = generate(gateway.port(), stream_body);
  ASSERT_EQ(live.status, 200);
  EXPECT_NE(live.body.find("image_generation.partial_image"), std::string::npos);
  HttpResponse replay = generate(gateway.port(), stream_body);
  EXPECT_EQ(replay.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(replay.header("content-type"), "text/event-stream");
  EXPECT_EQ(replay.body.find("partial_image"), std::string::npos);
  size_t data = replay.body.find("data: ");
  ASSERT_NE(data, std::string::npos);
  json completed = json::parse(replay.body.substr(data + 6, replay.body.find("\n\n") - data - 6));
  EXPECT_EQ(completed["type"], "image_generation.completed");
  HttpResponse as_json =
      generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"stream cache"})");
  EXPECT_EQ(as_json.header("x-arkroute-cache"), "HIT");
  json images = json::parse(as_json.body);
  EXPECT_EQ(images["data"][0]["b64_json"], completed["b64_json"]);
  EXPECT_TRUE(looksLikePng(base64Decode(images["data"][0]["b64_json"].get<std::string>())));
  EXPECT_EQ(sim.requests(), 1);
}

TEST(Cache, JsonMissIsReplayedToAStreamRequest) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  HttpResponse first = generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"both ways"})");
  HttpResponse replay =
      generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"both ways","stream":true})");
  EXPECT_EQ(replay.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(replay.header("content-type"), "text/event-stream");
  std::string b64 = json::parse(first.body)["data"][0]["b64_json"];
  EXPECT_NE(replay.body.find(b64), std::string::npos);
  EXPECT_EQ(sim.requests(), 1);
}

// A provider that ignores `stream` answers a stream request with JSON: the answer is stored all
// the same, so the next stream request is a hit replayed as SSE, not another paid call.
TEST(Cache, AJsonAnswerToAStreamRequestIsStored) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  const std::string body = R"({"model":"gpt-image-1","prompt":"stream ignored","stream":true})";
  HttpResponse first = generate(gateway.port(), body, {{"x-sim-fault", "ignore-stream"}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-arkroute-cache"), "MISS");
  HttpResponse replay = generate(gateway.port(), body);
  EXPECT_EQ(replay.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(replay.header("content-type"), "text/event-stream");
  EXPECT_EQ(sim.requests(), 1);
}

TEST(Cache, UrlResponsesPointAtGatewayImagesThatOutliveTheProvider) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  HttpResponse response = generate(
      gateway.port(), R"({"model":"gpt-image-1","prompt":"a url image","response_format":"url"})");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_NE(sim.lastRequestJson().find("b64_json"), std::string::npos)
      << "the gateway asks the provider for the bytes";
  std::string url = json::parse(response.body)["data"][0]["url"];
  const std::string prefix = "https://images.example.test/v1/images/cache/";
  ASSERT_EQ(url.rfind(prefix, 0), 0u) << url;
  HttpResponse image = httpGet(gateway.port(), "/v1/images/cache/" + url.substr(prefix.size()));
  ASSERT_EQ(image.status, 200);
  EXPECT_EQ(image.header("content-type"), "image/png");
  EXPECT_EQ(image.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_TRUE(looksLikePng(image.body));
  HttpCall conditional;
  conditional.path = "/v1/images/cache/" + url.substr(prefix.size());
  conditional.headers = {{"If-None-Match", image.header("etag")}};
  EXPECT_EQ(httpRequest(gateway.port(), conditional).status, 304);
  HttpResponse b64 = generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"a url image"})");
  EXPECT_EQ(b64.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(base64Decode(json::parse(b64.body)["data"][0]["b64_json"]), image.body);
  EXPECT_EQ(httpGet(gateway.port(), "/v1/images/cache/" + std::string(32, 'a') + "-0").status, 404);
  // A url-format hit answers the same URL again (its id once pointed at freed memory).
  for (int i = 0; i < 3; ++i) {
    HttpResponse again =
        generate(gateway.port(),
                 R"({"model":"gpt-image-1","prompt":"a url image","response_format":"url"})");
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.header("x-arkroute-cache"), "HIT");
    EXPECT_EQ(json::parse(again.body)["data"][0]["url"], url);
  }
}

// A provider that answers with URLs when no format is named (Seedream, DALL-E): with
// default_response_format = "url" such requests are cached and answered with the gateway's URLs,
// the shape the client would have had from the provider. A model without it forwards them as is.
TEST(Cache, AModelWhoseProviderDefaultsToUrlsIsCachedAndAnsweredWithUrls) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim,
                                "[[model]]\nname = \"urls-by-default\"\nupstream = \"sim\"\n"
                                "default_response_format = \"url\"\n"));
  const std::string body = R"({"model":"urls-by-default","prompt":"a default url image"})";
  HttpResponse first = generate(gateway.port(), body);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-arkroute-cache"), "MISS");
  EXPECT_NE(sim.lastRequestJson().find(R"(\"response_format\":\"b64_json\")"), std::string::npos)
      << sim.lastRequestJson();
  std::string url = json::parse(first.body)["data"][0]["url"];
  ASSERT_EQ(url.rfind("https://images.example.test/v1/images/cache/", 0), 0u) << first.body;
  HttpResponse again = generate(gateway.port(), body);
  EXPECT_EQ(again.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(json::parse(again.body)["data"][0]["url"], url);
  EXPECT_EQ(sim.requests(), 1);

  const std::string plain = R"({"model":"gpt-image-1","prompt":"a default b64 image"})";
  HttpResponse b64 = generate(gateway.port(), plain);
  ASSERT_EQ(b64.status, 200) << b64.body;
  EXPECT_TRUE(json::parse(b64.body)["data"][0].contains("b64_json")) << b64.body;
  EXPECT_EQ(sim.lastRequestJson().find("response_format"), std::string::npos)
      << "a model without the setting forwards the request as it came";
}

// URLs are only handed out for images the cache holds: an answer the cache cannot keep (larger
// than cache.max_bytes here) is a clear error, not URLs that answer 404.
TEST(Cache, UrlAnswersTooLargeForTheCacheAreAClearErrorNotDeadLinks) {
  Simulator sim;  // the harness's images are ~27 KB of base64, over the 16 KiB below
  GatewayOptions options = cachedGateway(sim);
  options.cache_toml = "enabled = true\nmax_bytes = \"16KiB\"\n";
  Gateway gateway(options);
  HttpResponse response =
      generate(gateway.port(),
               R"({"model":"gpt-image-1","prompt":"too big to keep","response_format":"url"})");
  EXPECT_EQ(response.status, 500) << response.body.substr(0, 300);
  json error = json::parse(response.body, nullptr, false);
  ASSERT_TRUE(error.contains("error")) << response.body.substr(0, 300);
  EXPECT_EQ(error["error"]["code"], "image_not_cacheable");
  EXPECT_NE(error["error"]["message"].get<std::string>().find("b64_json"), std::string::npos);
  EXPECT_EQ(sim.requests(), 1);
  // Waiters coalesced onto such a generation: url ones get the same error (no second paid
  // generation), a b64_json one is served the images.
  sim.reset();
  std::vector<HttpResponse> answers(4);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < answers.size(); ++i) {
    clients.emplace_back([&, i] {
      std::string format = i == 3 ? "" : R"(,"response_format":"url")";
      answers[i] = generate(gateway.port(),
                            R"({"model":"gpt-image-1","prompt":"too big, together")" + format + "}",
                            {{"x-sim-latency-ms", "1500"}});
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(sim.requests(), 1);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(answers[i].status, 500) << answers[i].body.substr(0, 200);
    EXPECT_NE(answers[i].body.find("image_not_cacheable"), std::string::npos);
  }
  ASSERT_EQ(answers[3].status, 200) << answers[3].body.substr(0, 200);
  EXPECT_TRUE(looksLikePng(base64Decode(json::parse(answers[3].body)["data"][0]["b64_json"])));
  // The same request as b64_json streams through (uncached) as usual.
  HttpResponse b64 =
      generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"too big to keep"})");
  ASSERT_EQ(b64.status, 200);
  EXPECT_TRUE(looksLikePng(base64Decode(json::parse(b64.body)["data"][0]["b64_json"])));
}

TEST(Cache, CacheControlHeadersSkipRefreshOrBypass) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  const std::string body = R"({"model":"gpt-image-1","prompt":"controlled"})";
  EXPECT_EQ(
      generate(gateway.port(), body, {{"Cache-Control", "no-store"}}).header("x-arkroute-cache"),
      "BYPASS");
  EXPECT_EQ(generate(gateway.port(), body).header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(
      generate(gateway.port(), body, {{"Cache-Control", "no-cache"}}).header("x-arkroute-cache"),
      "MISS");
  EXPECT_EQ(generate(gateway.port(), body).header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(sim.requests(), 3);
  HttpResponse short_lived =
      generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"ttl one"})",
               {{"X-ArkRoute-Cache-TTL", "1"}});
  EXPECT_EQ(short_lived.header("x-arkroute-cache"), "MISS");
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"ttl one"})")
                .header("x-arkroute-cache"),
            "MISS")
      << "an expired entry is never served";
}

TEST(Cache, ErrorsAndRefusalsAreNeverCached) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  const std::string body = R"({"model":"gpt-image-1","prompt":"refused"})";
  EXPECT_EQ(generate(gateway.port(), body, {{"x-sim-fault", "moderation"}}).status, 400);
  EXPECT_EQ(generate(gateway.port(), body, {{"x-sim-fault", "reset-mid-body"}}).complete, false);
  HttpResponse ok = generate(gateway.port(), body);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(sim.requests(), 3);
}

TEST(Cache, ModelsWithCacheOffAndPerKeyScopeKeepEntriesApart) {
  Simulator sim;
  GatewayOptions options =
      cachedGateway(sim, "[[model]]\nname = \"uncached\"\nupstream = \"sim\"\ncache = false\n");
  options.cache_toml = "enabled = true\nscope = \"per_key\"\n";
  Gateway gateway(options);
  const std::string body = R"({"model":"gpt-image-1","prompt":"tenant"})";
  generate(gateway.port(), body, {{"Authorization", "Bearer tenant-a"}});
  EXPECT_EQ(generate(gateway.port(), body, {{"Authorization", "Bearer tenant-b"}})
                .header("x-arkroute-cache"),
            "MISS");
  EXPECT_EQ(generate(gateway.port(), body, {{"Authorization", "Bearer tenant-a"}})
                .header("x-arkroute-cache"),
            "HIT");
  const std::string uncached = R"({"model":"uncached","prompt":"tenant"})";
  generate(gateway.port(), uncached);
  EXPECT_EQ(generate(gateway.port(), uncached).header("x-arkroute-cache"), "BYPASS");
}

TEST(Cache, AdminApiNeedsTheTokenAndPurges) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"admin one"})");
  generate(gateway.port(), R"({"model":"seedream-4.5","prompt":"admin two"})");
  HttpCall stats;
  stats.path = "/admin/cache/stats";
  EXPECT_EQ(httpRequest(gateway.port(), stats).status, 401);
  stats.headers = {{"Authorization", "Bearer wrong"}};
  EXPECT_EQ(httpRequest(gateway.port(), stats).status, 401);
  stats.headers = {{"Authorization", "Bearer admin-secret"}};
  json counts;
  for (int i = 0; i < 50; ++i) {  // inserts are written in the background
    counts = json::parse(httpRequest(gateway.port(), stats).body);
    if (counts["entries"] == 2) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(counts["entries"], 2);
  EXPECT_GT(counts["bytes"].get<int>(), 0);
  HttpCall purge;
  purge.method = "DELETE";
  purge.path = "/admin/cache?model=seedream-4.5";
  purge.headers = {{"Authorization", "Bearer admin-secret"}};
  EXPECT_EQ(json::parse(httpRequest(gateway.port(), purge).body)["purged"], 1);
  EXPECT_EQ(generate(gateway.port(), R"({"model":"seedream-4.5","prompt":"admin two"})")
                .header("x-arkroute-cache"),
            "MISS");
  EXPECT_EQ(generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"admin one"})")
                .header("x-arkroute-cache"),
            "HIT");
}

// A name given in the query is decoded from percent escapes: "%FF" is a byte no name and no JSON
// answer can hold. It is refused with a 400 naming the parameter (the purge's answer, which
// echoes the model, ended the gateway before).
TEST(Cache, AdminQueriesWhoseNamesAreNotUtf8AreRefused) {
  Simulator sim;
  Gateway gateway(cachedGateway(sim));
  generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"kept through bad purges"})");
  for (std::string path :
       {"/admin/cache?model=%FF", "/admin/cache?model=caf%E9", "/admin/usage?key=%C3%28"}) {
    HttpCall call;
    call.method = path.starts_with("/admin/cache") ? "DELETE" : "GET";
    call.path = path;
    call.headers = {{"Authorization", "Bearer admin-secret"}};
    HttpResponse response = httpRequest(gateway.port(), call);
    ASSERT_EQ(response.status, 400) << path << ": " << response.body;
    json error = json::parse(response.body)["error"];
    EXPECT_EQ(error["param"], path.find("model") != std::string::npos ? "model" : "key");
    EXPECT_EQ(error["code"], "invalid_value");
  }
  std::string cache;  // the gateway still serves, and purged nothing: the entry is a hit
  for (int i = 0; i < 50 && cache != "HIT"; ++i) {  // once its background write is done
    cache =
        generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"kept through bad purges"})")
            .header("x-arkroute-cache");
    if (cache != "HIT") std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(cache, "HIT");
}

TEST(Cache, AdminApiIsOffWithoutAToken) {
  Simulator sim;
  GatewayOptions options = cachedGateway(sim);
  options.env.clear();
  Gateway gateway(options);
  HttpCall stats;
  stats.path = "/admin/cache/stats";
  stats.headers = {{"Authorization", "Bearer anything"}};
  HttpResponse response = httpRequest(gateway.port(), stats);
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "admin_disabled");
}

}  // namespace
}  // namespace arkroute::testing
