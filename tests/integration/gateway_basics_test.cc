// Integration: the gateway in front of the simulator — byte-exact passthrough, routing and
// renames, headers in both directions, request validation and the small endpoints.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

class GatewayBasics : public ::testing::Test {
 protected:
  Simulator sim;
  Gateway gateway{GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .extra_upstream_toml = "api_key_env = \"SIM_PROVIDER_KEY\"\n",
                                 .env = {{"SIM_PROVIDER_KEY", "sk-provider-secret-123"}}}};
};

TEST_F(GatewayBasics, GenerationIsByteIdenticalToTheSimulatorsAnswer) {
  const std::string body = R"({"model":"gpt-image-1","prompt":"a red fox","size":"1024x1024"})";
  HttpResponse direct = httpPostJson(sim.port(), "/v1/images/generations", body);
  HttpResponse proxied = httpPostJson(gateway.port(), "/v1/images/generations", body);
  ASSERT_EQ(direct.status, 200) << direct.body;
  ASSERT_EQ(proxied.status, 200) << proxied.body;
  EXPECT_EQ(proxied.body, direct.body);
  EXPECT_EQ(proxied.header("content-type"), "application/json");
  EXPECT_EQ(proxied.header("x-arkroute-model"), "gpt-image-1");
  auto parsed = json::parse(proxied.body);
  EXPECT_TRUE(looksLikePng(base64Decode(parsed["data"][0]["b64_json"].get<std::string>())));
}

TEST_F(GatewayBasics, InjectsTheProviderKeyAndNeverForwardsTheClientsAuthorization) {
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations",
                                       R"({"model":"gpt-image-1","prompt":"keys"})",
                                       {{"Authorization", "Bearer client-token-should-not-leak"}});
  ASSERT_EQ(response.status, 200);
  json last = json::parse(sim.lastRequestJson());
  EXPECT_EQ(last["headers"]["authorization"], "Bearer sk-provider-secret-123");
  EXPECT_EQ(last.dump().find("client-token-should-not-leak"), std::string::npos);
}

TEST_F(GatewayBasics, RenamesTheModelAndForwardsUnknownFieldsUntouched) {
  const std::string body =
      R"({"prompt":"a lake", "model" : "seedream-4.5","watermark":false,"future_field":{"x":[1,2.50]}})";
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", body);
  ASSERT_EQ(response.status, 200) << response.body;
  json last = json::parse(sim.lastRequestJson());
  EXPECT_EQ(
      last["body"].get<std::string>(),
      R"({"prompt":"a lake", "model" : "seedream-4-5-251128","watermark":false,"future_field":{"x":[1,2.50]}})");
  EXPECT_EQ(response.header("x-arkroute-model"), "seedream-4.5");
}

TEST_F(GatewayBasics, PropagatesOrGeneratesRequestIds) {
  HttpResponse given =
      httpPostJson(gateway.port(), "/v1/images/generations",
                   R"({"model":"gpt-image-1","prompt":"id"})", {{"x-request-id", "trace-abc-123"}});
  EXPECT_EQ(given.header("x-request-id"), "trace-abc-123");
  EXPECT_EQ(json::parse(sim.lastRequestJson())["headers"]["x-request-id"], "trace-abc-123");
  HttpResponse generated = httpGet(gateway.port(), "/v1/models");
  EXPECT_EQ(generated.header("x-request-id").rfind("req_", 0), 0u);
}

TEST_F(GatewayBasics, ListsConfiguredModelsInOpenAIShape) {
  HttpResponse response = httpGet(gateway.port(), "/v1/models");
  ASSERT_EQ(response.status, 200);
  json models = json::parse(response.body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 2u);
  EXPECT_EQ(models["data"][0]["id"], "gpt-image-1");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(models["data"][1]["id"], "seedream-4.5");
}

TEST_F(GatewayBasics, HealthzAnswers) {
  HttpResponse response = httpGet(gateway.port(), "/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(json::parse(response.body)["status"], "ok");
}

// True when this machine can bind a socket on the IPv6 loopback (containers may have no IPv6).
bool ipv6LoopbackWorks() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

TEST(GatewayIpv6, AnIpv6UpstreamIsReachedAndItsUrlsKeepTheBrackets) {
  if (!ipv6LoopbackWorks()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  Simulator sim({"--listen", "[::1]:0"});  // the later --listen wins
  std::string base_url = "http://[::1]:" + std::to_string(sim.port()) + "/v1";
  Gateway gateway{GatewayOptions{.upstream_base_url = base_url}};
  HttpResponse response =
      httpPostJson(gateway.port(), "/v1/images/generations",
                   R"({"model":"gpt-image-1","prompt":"over ipv6","response_format":"url"})");
  ASSERT_EQ(response.status, 200) << response.body;
  // The simulator builds its URLs from the Host header the gateway sent: "[::1]:PORT".
  EXPECT_EQ(json::parse(response.body)["data"][0]["url"].get<std::string>().rfind(
                "http://[::1]:" + std::to_string(sim.port()) + "/_sim/images/", 0),
            0u)
      << response.body;
}

struct BadRequestCase {
  std::string body;
  int status;
  std::string param;  // "" for null
  std::string code;
};

class RejectsBadRequests : public GatewayBasics,
                           public ::testing::WithParamInterface<BadRequestCase> {};

TEST_P(RejectsBadRequests, WithAnOpenAIStyleError) {
  const BadRequestCase& c = GetParam();
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", c.body);
  EXPECT_EQ(response.status, c.status) << response.body;
  EXPECT_EQ(response.header("content-type"), "application/json");
  json error = json::parse(response.body)["error"];
  EXPECT_TRUE(error["message"].is_string());
  EXPECT_TRUE(error["type"].is_string());
  if (c.param.empty()) {
    EXPECT_TRUE(error["param"].is_null());
  } else {
    EXPECT_EQ(error["param"], c.param);
  }
  EXPECT_EQ(error["code"], c.code);
  EXPECT_EQ(sim.requests(), 0) << "a rejected request must not reach the provider";
}

INSTANTIATE_TEST_SUITE_P(
    Validation, RejectsBadRequests,
    ::testing::Values(
        BadRequestCase{"not json", 400, "", "invalid_json"},
        BadRequestCase{"[1,2]", 400, "", "invalid_json"},
        BadRequestCase{R"({"model":"gpt-image-1"})", 400, "prompt", "missing_required_parameter"},
        BadRequestCase{R"({"model":"gpt-image-1","prompt":""})", 400, "prompt",
                       "missing_required_parameter"},
        BadRequestCase{R"({"model":7,"prompt":"x"})", 400, "model", "invalid_type"},
        BadRequestCase{R"({"model":"nope","prompt":"x"})", 404, "model", "model_not_found"},
        BadRequestCase{R"({"model":"gpt-image-1","prompt":"x","n":0})", 400, "n",
                       "integer_out_of_range"},
        BadRequestCase{R"({"model":"gpt-image-1","prompt":"x","n":11})", 400, "n",
                       "integer_out_of_range"},
        BadRequestCase{R"({"model":"gpt-image-1","prompt":"x","n":"2"})", 400, "n",
                       "invalid_type"}),
    [](const ::testing::TestParamInfo<BadRequestCase>& info) {
      return "Case" + std::to_string(info.index) + "_" + std::to_string(info.param.status);
    });

TEST_F(GatewayBasics, UnknownPathIs404AndWrongMethodIs405) {
  HttpResponse unknown = httpGet(gateway.port(), "/v1/nothing-here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"]["code"], "unknown_url");
  HttpResponse wrong = httpGet(gateway.port(), "/v1/images/generations");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "POST");
  EXPECT_EQ(json::parse(wrong.body)["error"]["code"], "method_not_allowed");
}

// RFC 9110 6.6.1: an answer the gateway makes itself carries its Date; a provider's passes through
// as the provider sent it (one Date, never two).
TEST_F(GatewayBasics, EveryAnswerHasOneDate) {
  std::regex http_date(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)");
  for (const char* path : {"/v1/models", "/healthz", "/v1/nothing-here"}) {
    HttpResponse answer = httpGet(gateway.port(), path);
    EXPECT_TRUE(std::regex_match(answer.header("date"), http_date))
        << path << ": " << answer.header("date");
  }
  std::string wire = "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  int fd = connectLoopback(gateway.port());
  send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
  std::string text = readUntilClosed(fd, 5s);
  close(fd);
  EXPECT_EQ(text.find("Date: "), text.rfind("Date: ")) << text;
  HttpResponse generated = httpPostJson(gateway.port(), "/v1/images/generations",
                                        R"({"model":"gpt-image-1","prompt":"dated"})");
  EXPECT_EQ(generated.status, 200);
  EXPECT_TRUE(std::regex_match(generated.header("date"), http_date)) << generated.header("date");
}

}  // namespace
}  // namespace arkroute::testing
