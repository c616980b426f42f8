// Integration: what clients see when the provider fails — refused connections, timeouts, resets,
// provider errors passed through with their rate-limit headers, over HTTP and HTTPS — and that no
// key ever leaks.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "integration/harness.h"
#include "integration/plain_and_tls.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

const char kSecret[] = "sk-never-show-me-0123456789";
const char kBody[] = R"({"model":"gpt-image-1","prompt":"failure modes"})";

// The upstream's key is kSecret, read from the environment: no answer or log may show it.
GatewayOptions withProviderKey(GatewayOptions options) {
  options.extra_upstream_toml += "api_key_env = \"PROVIDER_KEY\"\n";
  options.env = {{"PROVIDER_KEY", kSecret}};
  return options;
}

GatewayOptions optionsFor(const std::string& base_url, std::string extra = "") {
  return withProviderKey(
      GatewayOptions{.upstream_base_url = base_url, .extra_upstream_toml = extra});
}

// The cases a provider causes, each over plain HTTP and over HTTPS: a failure must look the same
// to the client whichever way the provider is reached.
class ProviderFailures : public PlainAndTls {
 protected:
  void SetUp() override {
    sim_ = startSimulator();
    ASSERT_TRUE(sim_);
  }
  GatewayOptions options(const std::string& extra = "") const {
    return withProviderKey(optionsFor(*sim_, extra));
  }

  std::unique_ptr<Simulator> sim_;
};

HttpResponse postWithFault(uint16_t port, const std::string& fault) {
  return httpPostJson(port, "/v1/images/generations", kBody, {{"x-sim-fault", fault}});
}

void expectNoSecret(Gateway& gateway, const HttpResponse& response) {
  EXPECT_EQ(response.body.find(kSecret), std::string::npos);
  for (const auto& [name, value] : response.headers) {
    EXPECT_EQ(value.find(kSecret), std::string::npos) << name;
  }
  EXPECT_EQ(readFile(gateway.process().stderrPath()).find(kSecret), std::string::npos);
  EXPECT_EQ(gateway.process().stdoutText().find(kSecret), std::string::npos);
}

TEST(UpstreamFailures, RefusedConnectionIs502NamingTheUpstream) {
  uint16_t closed_port;
  {
    Simulator doomed;  // take a free port, then let it close
    closed_port = doomed.port();
  }
  Gateway gateway(optionsFor("http://127.0.0.1:" + std::to_string(closed_port) + "/v1"));
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", kBody);
  EXPECT_EQ(response.status, 502);
  json error = json::parse(response.body)["error"];
  EXPECT_NE(error["message"].get<std::string>().find("'sim'"), std::string::npos);
  EXPECT_NE(error["message"].get<std::string>().find("refused"), std::string::npos);
  EXPECT_EQ(error["code"], "upstream_unavailable");
  expectNoSecret(gateway, response);
}

TEST(UpstreamFailures, UnresolvableHostIs502OrTimeoutNamingTheUpstream) {
  Gateway gateway(optionsFor("http://nonexistent-host.invalid/v1", "connect_timeout = \"2s\"\n"));
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", kBody);
  EXPECT_TRUE(response.status == 502 || response.status == 504) << response.status;
  EXPECT_NE(response.body.find("'sim'"), std::string::npos) << response.body;
}

TEST_P(ProviderFailures, FirstByteTimeoutIs504) {
  Gateway gateway(options("first_byte_timeout = \"300ms\"\n"));
  HttpResponse response = postWithFault(gateway.port(), "stall");
  EXPECT_EQ(response.status, 504);
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "upstream_timeout");
  expectNoSecret(gateway, response);
}

// The provider had the whole request when the wait for its answer ran out: it may be generating,
// and billing, the image. Charged the estimate, as a client that leaves then is; never resent.
TEST(UpstreamFailures, AFirstByteTimeoutIsChargedTheEstimateAndNotResent) {
  Simulator sim;
  GatewayOptions options = optionsFor(sim.baseUrl(), "first_byte_timeout = \"300ms\"\n");
  options.extra_toml =
      "[[model]]\nname = \"priced\"\nupstream = \"sim\"\n"
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.04 }\n";
  Gateway gateway(options);
  HttpResponse response =
      httpPostJson(gateway.port(), "/v1/images/generations",
                   R"({"model":"priced","prompt":"stalled"})", {{"x-sim-fault", "stall"}});
  EXPECT_EQ(response.status, 504) << response.body;
  EXPECT_EQ(response.header("x-arkroute-cost-usd"), "0.040000");
  EXPECT_DOUBLE_EQ(chargedUsd(gateway.port(), 1), 0.04);
  EXPECT_EQ(sim.requests(), 1);
}

void expectTheProvidersRateLimit(const HttpResponse& response) {
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.header("retry-after"), "1");
  EXPECT_EQ(response.header("retry-after-ms"), "1000");
  EXPECT_EQ(response.header("x-ratelimit-limit-requests"), "60");
  EXPECT_EQ(response.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "rate_limit_exceeded");
}

TEST_P(ProviderFailures, ProviderRateLimitIsPassedThroughWithItsHeaders) {
  Gateway gateway(options());
  HttpResponse response = postWithFault(gateway.port(), "429");
  expectTheProvidersRateLimit(response);
  expectNoSecret(gateway, response);
}

// With the cache on, a url request is answered only once the provider's answer is complete (its
// images become the gateway's URLs): a refusal keeps the provider's headers all the same.
TEST_P(ProviderFailures, ARefusedUrlRequestKeepsTheProvidersHeaders) {
  GatewayOptions with_cache = options();
  with_cache.cache_toml = "enabled = true\n";
  Gateway gateway(with_cache);
  HttpResponse response =
      httpPostJson(gateway.port(), "/v1/images/generations",
                   R"({"model":"gpt-image-1","prompt":"failure modes","response_format":"url"})",
                   {{"x-sim-fault", "429"}});
  expectTheProvidersRateLimit(response);
  EXPECT_EQ(response.header("x-arkroute-model"), "gpt-image-1");
  expectNoSecret(gateway, response);
}

TEST_P(ProviderFailures, ProviderServerErrorsAndRefusalsArePassedThrough) {
  Gateway gateway(options());
  EXPECT_EQ(postWithFault(gateway.port(), "500").status, 500);
  EXPECT_EQ(postWithFault(gateway.port(), "503").status, 503);
  HttpResponse refused = postWithFault(gateway.port(), "moderation");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "moderation_blocked");
}

TEST_P(ProviderFailures, ResetBeforeHeadersIs502) {
  Gateway gateway(options());
  HttpResponse response = postWithFault(gateway.port(), "reset-before-headers");
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(json::parse(response.body)["error"]["type"], "upstream_error");
}

TEST_P(ProviderFailures, ResetMidBodyReachesTheClientAsATruncatedResponse) {
  Gateway gateway(options());
  HttpResponse response = postWithFault(gateway.port(), "reset-mid-body");
  EXPECT_EQ(response.status, 200);
  EXPECT_FALSE(response.complete) << "a cut upstream body must never look complete";
  // The gateway is still healthy afterwards.
  EXPECT_EQ(httpPostJson(gateway.port(), "/v1/images/generations", kBody).status, 200);
}

TEST(UpstreamFailures, ClientDisconnectCancelsTheUpstreamRequest) {
  Simulator sim;
  Gateway gateway(optionsFor(sim.baseUrl()));
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/generations";
  call.body = kBody;
  call.headers = {{"Content-Type", "application/json"}, {"x-sim-fault", "stall"}};
  call.timeout = 500ms;  // the client gives up and closes its socket
  EXPECT_EQ(httpRequest(gateway.port(), call).status, 0);
  int in_flight = -1;
  for (int i = 0; i < 100 && in_flight != 0; ++i) {
    json stats = json::parse(httpGet(sim.port(), "/_sim/stats").body);
    in_flight = stats["in_flight"].get<int>();
    if (in_flight != 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(in_flight, 0) << "the upstream request should be cancelled with the client";
  EXPECT_EQ(sim.requests(), 1);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, ProviderFailures, ::testing::Bool(), plainOrTlsName);

}  // namespace
}  // namespace arkroute::testing
