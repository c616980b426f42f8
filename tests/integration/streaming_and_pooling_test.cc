// Integration: SSE and large bodies stream through as they arrive (from plain and HTTPS
// providers); upstream connections are pooled and reused; request size limits answer 413/431
// with JSON errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "integration/harness.h"
#include "integration/plain_and_tls.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Streams over plain HTTP and over HTTPS from the provider.
class Streaming : public PlainAndTls {};

TEST_P(Streaming, PartialImagesReachTheClientBeforeTheFinalImage) {
  auto sim = startSimulator({"--latency-ms", "900"});
  ASSERT_TRUE(sim);
  Gateway gateway(optionsFor(*sim));
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/generations";
  call.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  call.body = R"({"model":"gpt-image-1","prompt":"stream me","stream":true,"partial_images":2})";
  std::string seen;
  Clock::time_point first_partial, completed;
  call.on_body = [&](const std::string& piece) {
    seen += piece;
    auto now = Clock::now();
    if (first_partial == Clock::time_point() &&
        seen.find("event: image_generation.partial_image") != std::string::npos) {
      first_partial = now;
    }
    if (completed == Clock::time_point() &&
        seen.find("event: image_generation.completed") != std::string::npos) {
      completed = now;
    }
  };
  HttpResponse response = httpRequest(gateway.port(), call);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(response.complete);
  EXPECT_EQ(response.header("content-type").rfind("text/event-stream", 0), 0u);
  ASSERT_NE(first_partial, Clock::time_point());
  ASSERT_NE(completed, Clock::time_point());
  EXPECT_GT(completed - first_partial, 200ms) << "partials must not be held back until the end";
}

// The answer through the gateway is compared with the same answer (the simulator is
// deterministic) taken straight from a plain simulator.
TEST_P(Streaming, LargeBase64BodiesArriveIntactThroughBackpressure) {
  auto sim = startSimulator({"--payload-bytes", "3000000"});
  ASSERT_TRUE(sim);
  Gateway gateway(optionsFor(*sim));
  const std::string body = R"({"model":"gpt-image-1","prompt":"big","n":2})";
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/generations";
  call.body = body;
  call.headers = {{"Content-Type", "application/json"}};
  Simulator plain({"--payload-bytes", "3000000"});
  HttpResponse direct = httpRequest(plain.port(), call);
  size_t pieces = 0;
  call.on_body = [&](const std::string&) { ++pieces; };
  HttpResponse proxied = httpRequest(gateway.port(), call);
  ASSERT_EQ(proxied.status, 200);
  EXPECT_GT(direct.body.size(), 6'000'000u);
  EXPECT_EQ(proxied.body, direct.body);
  EXPECT_GT(pieces, 10u) << "the body should stream, not arrive in one piece";
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, Streaming, ::testing::Bool(), plainOrTlsName);

TEST(Pooling, ThreeHundredSequentialRequestsReuseAtMostMaxConnections) {
  Simulator sim({"--payload-bytes", "700"});
  GatewayOptions options{.upstream_base_url = sim.baseUrl(),
                         .extra_upstream_toml = "max_connections = 2\n"};
  options.workers = 1;
  Gateway gateway(options);
  sim.reset();
  for (int i = 0; i < 300; ++i) {
    HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations",
                                         R"({"model":"gpt-image-1","prompt":"pool"})");
    ASSERT_EQ(response.status, 200) << i;
  }
  EXPECT_EQ(sim.requests(), 300);
  int accepted = sim.connectionsAccepted();
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 2);
}

TEST(Limits, OversizedBodyIs413WithAJsonError) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .server_toml = "max_body_bytes = \"4KiB\"\n"});
  std::string prompt(8000, 'a');
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations",
                                       R"({"model":"gpt-image-1","prompt":")" + prompt + "\"}");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.header("content-type"), "application/json");
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "request_too_large");
  EXPECT_EQ(sim.requests(), 0);
}

TEST(Limits, OversizedHeadersAre431WithAJsonErrorAndLoggedByTheirRequestLine) {
  Simulator sim;
  TempDir dir;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .server_toml = "max_header_bytes = \"8KiB\"\n",
                                 .log_toml = "access_log = \"" + dir.file("access.log") + "\"\n"});
  HttpCall call;
  call.path = "/v1/models?page=2";
  call.headers = {{"X-Huge", std::string(20000, 'h')}};
  HttpResponse response = httpRequest(gateway.port(), call);
  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "request_header_fields_too_large");
  std::vector<json> records = stopAndReadAccessLog(gateway, dir.file("access.log"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["method"], "GET") << records[0];
  EXPECT_EQ(records[0]["path"], "/v1/models") << records[0];
  EXPECT_EQ(records[0]["status"], 431) << records[0];
}

}  // namespace
}  // namespace arkroute::testing
