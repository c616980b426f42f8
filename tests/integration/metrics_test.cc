// Integration: GET /metrics over a real socket after a miss, a hit, an unpriced generation, a
// provider error and client errors — exact counter values, the in-flight gauge while a request
// waits upstream, and the whole exposition checked by promtool.
#include <gtest/gtest.h>

#include <thread>

#include "integration/harness.h"
#include "unit/proxy/ops/promtool.h"

namespace arkroute::testing {
namespace {

const char* kPricedModel =
    "[[model]]\nname = \"priced\"\nupstream = \"sim\"\n"
    "[model.price.per_image]\n\"*\" = { \"*\" = 0.04 }\n";

GatewayOptions metricsGateway(const Simulator& sim) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  options.extra_upstream_toml = "max_retries = 0\n";  // one upstream call per request
  options.extra_toml = kPricedModel;
  return options;
}

HttpResponse generate(uint16_t port, const std::string& body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  return httpPostJson(port, "/v1/images/generations", body, std::move(headers));
}

// The value of the sample whose line starts with `series ` (name plus labels, exactly as
// rendered); nullopt when absent.
std::optional<double> sample(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      size_t start = at + series.size() + 1;
      return std::stod(text.substr(start, text.find('\n', start) - start));
    }
    at += series.size();
  }
  return std::nullopt;
}

// Scrapes until series has value (for up to 5 s); returns the last scrape.
HttpResponse scrapeUntil(uint16_t port, const std::string& series, double value) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  HttpResponse scrape;
  do {
    scrape = httpGet(port, "/metrics");
    if (sample(scrape.body, series) == value) break;
  } while (std::chrono::steady_clock::now() < deadline);
  return scrape;
}

// Images the provider generated (and billed) but the gateway could not hand over as URLs (too
// large for the cache here) still cost what they cost: the client got an error, not the images.
TEST(Metrics, ImagesGeneratedButNotDeliveredAsUrlsAreStillPaidFor) {
  Simulator sim;  // the harness's images are ~27 KB of base64, over the 16 KiB below
  GatewayOptions options = metricsGateway(sim);
  options.cache_toml = "enabled = true\nmax_bytes = \"16KiB\"\n";
  options.server_toml = "public_url = \"https://images.example.test/\"\n";
  Gateway gateway(options);
  HttpResponse response = generate(
      gateway.port(), R"({"model":"priced","prompt":"too big to keep","response_format":"url"})");
  ASSERT_EQ(response.status, 500) << response.body.substr(0, 300);
  ASSERT_NE(response.body.find("image_not_cacheable"), std::string::npos);
  ASSERT_EQ(sim.requests(), 1);
  HttpResponse scrape =
      scrapeUntil(gateway.port(), R"(arkroute_cost_usd_total{model="priced"})", 0.04);
  EXPECT_EQ(sample(scrape.body, R"(arkroute_cost_usd_total{model="priced"})"), 0.04) << scrape.body;
  EXPECT_EQ(sample(scrape.body, R"(arkroute_images_total{model="priced"})"), std::nullopt)
      << "no image reached the client";
  // Identical requests coalesced onto one such generation share its one call: paid once.
  sim.reset();
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&gateway] {
      EXPECT_EQ(
          generate(gateway.port(),
                   R"({"model":"priced","prompt":"too big, together","response_format":"url"})",
                   {{"x-sim-latency-ms", "1000"}})
              .status,
          500);
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(sim.requests(), 1);
  scrape = scrapeUntil(gateway.port(), R"(arkroute_cost_usd_total{model="priced"})", 0.08);
  EXPECT_EQ(sample(scrape.body, R"(arkroute_cost_usd_total{model="priced"})"), 0.08) << scrape.body;
}

TEST(Metrics, CountsMissHitErrorsCostAndCacheAndPassPromtool) {
  Simulator sim;
  Gateway gateway(metricsGateway(sim));
  const std::string priced = R"({"model":"priced","prompt":"metrics fox"})";
  ASSERT_EQ(generate(gateway.port(), priced).header("x-arkroute-cache"), "MISS");
  ASSERT_EQ(generate(gateway.port(), priced).header("x-arkroute-cache"), "HIT");
  ASSERT_EQ(generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"unpriced"})").status, 200);
  ASSERT_EQ(generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"boom"})",
                     {{"x-sim-fault", "500"}})
                .status,
            500);
  ASSERT_EQ(generate(gateway.port(), R"({"model":"no-such-model","prompt":"x"})").status, 404);
  ASSERT_EQ(httpGet(gateway.port(), "/no/such/path").status, 404);

  // Cache entries are counted once the background writer stored them: scrape until it has.
  HttpResponse scrape = scrapeUntil(gateway.port(), "arkroute_cache_entries", 2);
  ASSERT_EQ(scrape.status, 200);
  EXPECT_EQ(scrape.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& m = scrape.body;
  auto expect = [&m](const std::string& series, double value) {
    EXPECT_EQ(sample(m, series), std::optional<double>(value)) << series << "\n" << m;
  };
  expect(R"(arkroute_requests_total{model="priced",status="200",cache="MISS"})", 1);
  expect(R"(arkroute_requests_total{model="priced",status="200",cache="HIT"})", 1);
  expect(R"(arkroute_requests_total{model="gpt-image-1",status="200",cache="MISS"})", 1);
  expect(R"(arkroute_requests_total{model="gpt-image-1",status="500",cache="MISS"})", 1);
  expect(R"(arkroute_requests_total{model="",status="404",cache=""})", 2);
  expect(R"(arkroute_cost_usd_total{model="priced"})", 0.04);
  expect(R"(arkroute_saved_usd_total{model="priced"})", 0.04);
  expect(R"(arkroute_cost_unknown_total{model="gpt-image-1"})", 1);
  expect(R"(arkroute_images_total{model="priced"})", 2);
  expect(R"(arkroute_errors_total{source="client"})", 2);
  expect(R"(arkroute_errors_total{source="upstream"})", 1);
  expect(R"(arkroute_errors_total{source="internal"})", 0);
  expect(R"(arkroute_upstream_duration_seconds_count{upstream="sim"})", 3);
  expect(R"(arkroute_upstream_duration_seconds_bucket{upstream="sim",le="600"})", 3);
  expect(R"(arkroute_request_duration_seconds_count{cache="HIT"})", 1);
  expect("arkroute_requests_in_flight", 1);  // the scrape itself
  expect(R"(arkroute_upstream_queue_depth{upstream="sim"})", 0);
  expect("arkroute_cache_entries", 2);  // the priced and the unpriced images
  expect("arkroute_cache_hits_total", 1);
  expect("arkroute_cache_misses_total", 3);
  expect("arkroute_cache_coalesced_total", 0);
  expect("arkroute_cache_evictions_total", 0);
  expect("arkroute_cache_url_waits_total", 0);
  EXPECT_GT(sample(m, "arkroute_cache_memory_bytes").value_or(0), 0) << "the entries just stored";
  expect("arkroute_access_log_dropped_total", 0);
  expect("arkroute_accept_paused_total", 0);
  expect("arkroute_database_writes_stopped", 0);
  auto opened = sample(m, R"(arkroute_upstream_connections_opened_total{upstream="sim"})");
  auto reused = sample(m, R"(arkroute_upstream_connections_reused_total{upstream="sim"})");
  ASSERT_TRUE(opened && reused) << m;
  EXPECT_GE(*opened, 1);
  EXPECT_EQ(*opened + *reused, 3) << "three upstream requests, each on a new or a pooled one";
  EXPECT_GT(*sample(m, "arkroute_cache_bytes"), 0);
  EXPECT_NE(m.find("# TYPE arkroute_upstream_duration_seconds histogram\n"), std::string::npos);

  ASSERT_TRUE(havePromtool()) << "promtool not found at " << kPromtool
                              << " (scripts/setup.sh installs the prometheus package)";
  PromtoolResult checked = promtoolCheck(m);
  EXPECT_EQ(checked.exit_code, 0) << checked.output;
}

TEST(Metrics, InFlightCountsARequestWaitingUpstream) {
  Simulator sim;
  Gateway gateway(metricsGateway(sim));
  std::thread slow([&] {
    generate(gateway.port(), R"({"model":"gpt-image-1","prompt":"slow"})",
             {{"x-sim-latency-ms", "1500"}});
  });
  HttpResponse scrape = scrapeUntil(gateway.port(), "arkroute_requests_in_flight", 2);
  EXPECT_EQ(sample(scrape.body, "arkroute_requests_in_flight"), std::optional<double>(2))
      << "the slow request and the scrape";
  slow.join();
  EXPECT_EQ(sample(httpGet(gateway.port(), "/metrics").body, "arkroute_requests_in_flight"),
            std::optional<double>(1));
}

TEST(Metrics, RequestsTheServerRefusesAreCountedAsClientErrors) {
  Simulator sim;
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.server_toml = "max_body_bytes = \"4KiB\"\n";
  Gateway gateway(options);
  HttpResponse refused = generate(
      gateway.port(), R"({"model":"gpt-image-1","prompt":")" + std::string(8000, 'x') + "\"}");
  ASSERT_EQ(refused.status, 413);
  std::string m = httpGet(gateway.port(), "/metrics").body;
  EXPECT_EQ(sample(m, R"(arkroute_requests_total{model="",status="413",cache=""})"),
            std::optional<double>(1))
      << m;
  EXPECT_EQ(sample(m, R"(arkroute_errors_total{source="client"})"), std::optional<double>(1));
}

TEST(Metrics, DisabledCacheLeavesCacheSeriesOut) {
  Simulator sim;
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  Gateway gateway(options);
  HttpResponse scrape = httpGet(gateway.port(), "/metrics");
  ASSERT_EQ(scrape.status, 200);
  EXPECT_EQ(scrape.body.find("arkroute_cache_"), std::string::npos);
  EXPECT_TRUE(sample(scrape.body, R"(arkroute_errors_total{source="client"})"));
}

}  // namespace
}  // namespace arkroute::testing
