// Integration: auth.mode = "passthrough", where each caller brings its own provider key. The key
// goes upstream, a caller without one is refused even for a cached image, the cache is each key's
// own unless the operator wrote "shared", and no caller reads the others' spend.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

const char kGeneration[] = R"({"model":"gpt-image-1","prompt":"a passthrough kite"})";

GatewayOptions passthroughGateway(const Simulator& sim, std::string cache_toml) {
  GatewayOptions options{.upstream_base_url = sim.baseUrl()};
  options.auth_toml = "mode = \"passthrough\"\n";
  options.cache_toml = "enabled = true\n" + cache_toml;
  return options;
}

HttpResponse generateAs(uint16_t port, const std::string& provider_key) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!provider_key.empty()) headers.emplace_back("Authorization", "Bearer " + provider_key);
  return httpPostJson(port, "/v1/images/generations", kGeneration, std::move(headers));
}

std::string upstreamAuthorization(Simulator& sim) {
  return json::parse(sim.lastRequestJson())["headers"].value("authorization", "");
}

TEST(Passthrough, EachKeyGoesUpstreamAndBuysCacheHitsForItselfAlone) {
  Simulator sim;
  Gateway gateway(passthroughGateway(sim, ""));
  HttpResponse first = generateAs(gateway.port(), "sk-caller-a");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(upstreamAuthorization(sim), "Bearer sk-caller-a");
  HttpResponse again = generateAs(gateway.port(), "sk-caller-a");
  EXPECT_EQ(again.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(again.body, first.body);
  HttpResponse other = generateAs(gateway.port(), "sk-caller-b");
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.header("x-arkroute-cache"), "MISS") << "b's key pays for b's image";
  EXPECT_EQ(upstreamAuthorization(sim), "Bearer sk-caller-b");
  EXPECT_EQ(sim.requests(), 2);
}

TEST(Passthrough, ACallerWithoutAKeyGetsNothingNotEvenACachedImage) {
  Simulator sim;
  Gateway gateway(passthroughGateway(sim, "scope = \"shared\"\n"));
  ASSERT_EQ(generateAs(gateway.port(), "sk-caller-a").status, 200);
  for (const std::string& authorization :
       {std::string(), std::string("Bearer "), std::string("Basic c2s6")}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    HttpResponse refused =
        httpPostJson(gateway.port(), "/v1/images/generations", kGeneration, std::move(headers));
    EXPECT_EQ(refused.status, 401) << authorization << ": " << refused.body;
    EXPECT_EQ(json::parse(refused.body)["error"]["code"], "invalid_api_key");
    EXPECT_NE(refused.body.find("Authorization: Bearer"), std::string::npos) << refused.body;
  }
  EXPECT_EQ(sim.requests(), 1);
  // With "shared" written, the operator chose one cache for every key: b gets a's image.
  EXPECT_EQ(generateAs(gateway.port(), "sk-caller-b").header("x-arkroute-cache"), "HIT");
}

TEST(Passthrough, NoCallerReadsTheGatewaysUsage) {
  Simulator sim;
  Gateway gateway(passthroughGateway(sim, ""));
  ASSERT_EQ(generateAs(gateway.port(), "sk-caller-a").status, 200);
  HttpCall usage;
  usage.path = "/v1/usage";
  usage.headers = {{"Authorization", "Bearer sk-caller-b"}};
  HttpResponse answer = httpRequest(gateway.port(), usage);
  EXPECT_EQ(answer.status, 403) << answer.body;
  EXPECT_EQ(json::parse(answer.body)["error"]["code"], "usage_not_available");
  EXPECT_EQ(answer.body.find("gpt-image-1"), std::string::npos) << answer.body;
}

}  // namespace
}  // namespace arkroute::testing
