// Integration: a gateway image URL names the bytes it was given for. A later generation of the
// same request (a refresh, or a new entry after expiry or purge) gets a new URL, the old one stops
// resolving instead of serving other bytes under an "immutable" header, and only the URL's tag
// (not a digest anyone can compute) opens an image, before and after a restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

const std::string kUrlRequest =
    R"({"model":"gpt-image-1","prompt":"a versioned image","response_format":"url"})";

// The path of the first image URL in a url answer.
std::string firstImagePath(const HttpResponse& response) {
  std::string url = json::parse(response.body)["data"][0]["url"];
  return url.substr(url.find("/v1/images/cache/"));
}

GatewayOptions caching(const Simulator& sim) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  return options;
}

TEST(CachedImageVersions, ARefreshedEntryGetsANewUrlAndTheOldOneStopsResolving) {
  Simulator sim;
  Gateway gateway(caching(sim));
  HttpResponse first = httpPostJson(gateway.port(), "/v1/images/generations", kUrlRequest);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string old_path = firstImagePath(first);
  HttpResponse old_image = httpGet(gateway.port(), old_path);
  ASSERT_EQ(old_image.status, 200);
  EXPECT_EQ(old_image.header("etag"), "\"" + old_path.substr(17) + "\"");

  HttpResponse refreshed = httpPostJson(gateway.port(), "/v1/images/generations", kUrlRequest,
                                        {{"Cache-Control", "no-cache"}});
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_EQ(refreshed.header("x-arkroute-cache"), "MISS");
  const std::string new_path = firstImagePath(refreshed);
  ASSERT_NE(new_path, old_path) << "a new generation is new bytes: a new URL";
  EXPECT_EQ(sim.requests(), 2);

  HttpResponse gone = httpGet(gateway.port(), old_path);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(json::parse(gone.body)["error"]["code"], "image_not_found");
  EXPECT_NE(gone.body.find("generated again"), std::string::npos) << gone.body;
  HttpResponse current = httpGet(gateway.port(), new_path);
  ASSERT_EQ(current.status, 200);
  EXPECT_EQ(current.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(current.header("etag"), "\"" + new_path.substr(17) + "\"");

  HttpCall conditional;
  conditional.path = new_path;
  conditional.headers = {{"If-None-Match", current.header("etag")}};
  EXPECT_EQ(httpRequest(gateway.port(), conditional).status, 304);
}

// The endpoint asks for no key, and anyone who guesses a request can compute its digest: only the
// tag the gateway's secret gives it opens an image. The secret is kept with the cache, so a URL
// outlives a restart.
TEST(CachedImageVersions, OnlyTheTaggedUrlOpensTheImageAndItSurvivesARestart) {
  Simulator sim;
  Gateway gateway(caching(sim));
  HttpResponse answer = httpPostJson(gateway.port(), "/v1/images/generations", kUrlRequest);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const std::string path = firstImagePath(answer);  // /v1/images/cache/<digest>-<v>-<tag>-0
  const std::string digest = path.substr(17, 32);
  const std::string version = path.substr(50, path.find('-', 50) - 50);
  ASSERT_EQ(httpGet(gateway.port(), path).status, 200);
  for (const std::string& guess : {digest + "-0", digest + "-" + version + "-0",
                                   digest + "-" + version + "-0123456789abcdef-0"}) {
    HttpResponse refused = httpGet(gateway.port(), "/v1/images/cache/" + guess);
    EXPECT_EQ(refused.status, 404) << guess;
    EXPECT_EQ(json::parse(refused.body)["error"]["code"], "image_not_found");
  }
  gateway.restart(SIGTERM);
  HttpResponse after = httpGet(gateway.port(), path);
  EXPECT_EQ(after.status, 200) << "the secret is kept in the cache's database";
  EXPECT_EQ(after.body, httpGet(gateway.port(), path).body);
  EXPECT_EQ(sim.requests(), 1);
}

}  // namespace
}  // namespace arkroute::testing
