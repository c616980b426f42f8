// Integration: a gateway image URL names the bytes it was given for. A later generation of the
// same request (a refresh, or a new entry after expiry or purge) gets a new URL, the old one stops
// resolving instead of serving other bytes under an "immutable" header, and ids handed out before
// versions existed still resolve, revalidated every time.
#include <gtest/gtest.h>

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

TEST(CachedImageVersions, ARefreshedEntryGetsANewUrlAndTheOldOneStopsResolving) {
  Simulator sim;
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
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

  // The id without its version ("<digest>-<index>", as handed out by earlier releases) names the
  // request: it serves the current bytes, tagged with their version, and is revalidated.
  const std::string digest = new_path.substr(17, 32);
  HttpResponse legacy = httpGet(gateway.port(), "/v1/images/cache/" + digest + "-0");
  ASSERT_EQ(legacy.status, 200);
  EXPECT_EQ(legacy.body, current.body);
  EXPECT_EQ(legacy.header("cache-control"), "no-cache");
  EXPECT_EQ(legacy.header("etag"), current.header("etag"));
  HttpCall conditional;
  conditional.path = "/v1/images/cache/" + digest + "-0";
  conditional.headers = {{"If-None-Match", current.header("etag")}};
  EXPECT_EQ(httpRequest(gateway.port(), conditional).status, 304);
  conditional.headers = {{"If-None-Match", old_image.header("etag")}};
  EXPECT_EQ(httpRequest(gateway.port(), conditional).status, 200) << "the old bytes are stale";
}

}  // namespace
}  // namespace arkroute::testing
