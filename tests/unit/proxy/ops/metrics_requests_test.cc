// Unit tests for RequestMetrics: what finished requests add to each family, errors by source,
// cost known/unknown, and the gauges other components move.
#include "proxy/ops/metrics_requests.h"

#include <gtest/gtest.h>

namespace arkroute::ops {
namespace {

RequestRecord generation(std::string_view cache, int status, std::optional<double> cost) {
  RequestRecord r;
  r.method = "POST";
  r.path = "/v1/images/generations";
  r.model = "gpt-image-1";
  r.upstream = cache == "HIT" ? "" : "sim";
  r.status = status;
  r.cache_status = cache;
  r.outcome = "ok";
  r.cost_usd = cost;
  r.images = status == 200 ? 1 : 0;
  r.upstream_ms = r.upstream.empty() ? 0 : 1500;
  r.total_ms = r.upstream.empty() ? 1 : 1502;
  return r;
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

class RequestMetricsTest : public ::testing::Test {
 protected:
  MetricsRegistry registry;
  RequestMetrics metrics{registry, {"sim", "openai"}};
};

TEST_F(RequestMetricsTest, StartsWithZeroQueueDepthAndErrorSeries) {
  std::string text = registry.render();
  EXPECT_TRUE(has(text, "arkroute_upstream_queue_depth{upstream=\"sim\"} 0"));
  EXPECT_TRUE(has(text, "arkroute_upstream_queue_depth{upstream=\"openai\"} 0"));
  for (const char* source : {"client", "upstream", "internal"}) {
    EXPECT_TRUE(has(text, std::string("arkroute_errors_total{source=\"") + source + "\"} 0"));
  }
  EXPECT_TRUE(has(text, "arkroute_requests_in_flight 0"));
}

TEST_F(RequestMetricsTest, CountsRequestsCostAndSavings) {
  metrics.onRequestFinished(generation("MISS", 200, 0.04));
  RequestRecord hit = generation("HIT", 200, 0.0);
  hit.saved_usd = 0.04;
  metrics.onRequestFinished(hit);
  metrics.onRequestFinished(hit);
  std::string text = registry.render();
  EXPECT_TRUE(
      has(text, R"(arkroute_requests_total{model="gpt-image-1",status="200",cache="MISS"} 1)"));
  EXPECT_TRUE(
      has(text, R"(arkroute_requests_total{model="gpt-image-1",status="200",cache="HIT"} 2)"));
  EXPECT_TRUE(has(text, R"(arkroute_cost_usd_total{model="gpt-image-1"} 0.04)"));
  EXPECT_TRUE(has(text, R"(arkroute_saved_usd_total{model="gpt-image-1"} 0.08)"));
  EXPECT_TRUE(has(text, R"(arkroute_images_total{model="gpt-image-1"} 3)"));
  EXPECT_TRUE(has(text, R"(arkroute_upstream_duration_seconds_count{upstream="sim"} 1)"));
  EXPECT_TRUE(has(text, R"(arkroute_upstream_duration_seconds_bucket{upstream="sim",le="1"} 0)"));
  EXPECT_TRUE(has(text, R"(arkroute_upstream_duration_seconds_bucket{upstream="sim",le="2.5"} 1)"));
  EXPECT_TRUE(has(text, R"(arkroute_request_duration_seconds_count{cache="HIT"} 2)"));
  EXPECT_EQ(text.find("arkroute_cost_unknown_total{"), std::string::npos);
}

// Each thread remembers the series of the last kind of request: a request of another kind, or
// the same kind counted by another gateway's metrics, must land in its own series.
TEST_F(RequestMetricsTest, AlikeRequestsShareSeriesAndOthersGetTheirOwn) {
  MetricsRegistry other_registry;
  RequestMetrics other{other_registry, {"sim"}};
  RequestRecord miss = generation("MISS", 200, 0.04);
  RequestRecord elsewhere = miss;
  elsewhere.upstream = "openai";
  RequestRecord failed = generation("MISS", 500, std::nullopt);
  metrics.onRequestFinished(miss);
  metrics.onRequestFinished(elsewhere);
  other.onRequestFinished(elsewhere);
  metrics.onRequestFinished(elsewhere);
  metrics.onRequestFinished(failed);
  metrics.onRequestFinished(miss);
  std::string text = registry.render();
  EXPECT_TRUE(
      has(text, R"(arkroute_requests_total{model="gpt-image-1",status="200",cache="MISS"} 4)"));
  EXPECT_TRUE(
      has(text, R"(arkroute_requests_total{model="gpt-image-1",status="500",cache="MISS"} 1)"));
  EXPECT_TRUE(has(text, R"(arkroute_upstream_duration_seconds_count{upstream="sim"} 3)"));
  EXPECT_TRUE(has(text, R"(arkroute_upstream_duration_seconds_count{upstream="openai"} 2)"));
  EXPECT_TRUE(has(text, R"(arkroute_errors_total{source="upstream"} 1)"));
  EXPECT_TRUE(has(text, R"(arkroute_images_total{model="gpt-image-1"} 4)"));
  std::string other_text = other_registry.render();
  EXPECT_TRUE(has(other_text,
                  R"(arkroute_requests_total{model="gpt-image-1",status="200",cache="MISS"} 1)"));
  EXPECT_TRUE(has(other_text, R"(arkroute_upstream_duration_seconds_count{upstream="openai"} 1)"));
  EXPECT_TRUE(has(other_text, R"(arkroute_errors_total{source="upstream"} 0)"));
}

TEST_F(RequestMetricsTest, UnpricedSuccessesAreCountedAsUnknownCost) {
  metrics.onRequestFinished(generation("MISS", 200, std::nullopt));
  metrics.onRequestFinished(generation("MISS", 500, 0.0));  // failures cost 0, known
  std::string text = registry.render();
  EXPECT_TRUE(has(text, R"(arkroute_cost_unknown_total{model="gpt-image-1"} 1)"));
}

TEST_F(RequestMetricsTest, ErrorsAreAttributedToTheirSource) {
  RequestRecord bad_request = generation("", 400, 0.0);
  bad_request.model = "";
  bad_request.upstream = "";
  bad_request.outcome = "client_error";
  RequestRecord refused = generation("MISS", 502, 0.0);
  refused.outcome = "upstream_error";
  RequestRecord provider_429 = generation("MISS", 429, 0.0);  // passed through, outcome ok
  RequestRecord not_found;
  not_found.status = 404;
  not_found.outcome = "client_error";
  RequestRecord gone = generation("MISS", 0, 0.0);
  gone.outcome = "client_gone";
  RequestRecord internal;
  internal.status = 500;
  for (const auto* r : {&bad_request, &refused, &provider_429, &not_found, &gone, &internal}) {
    metrics.onRequestFinished(*r);
  }
  std::string text = registry.render();
  EXPECT_TRUE(has(text, R"(arkroute_errors_total{source="client"} 2)")) << text;
  EXPECT_TRUE(has(text, R"(arkroute_errors_total{source="upstream"} 2)"));
  EXPECT_TRUE(has(text, R"(arkroute_errors_total{source="internal"} 1)"));
  EXPECT_TRUE(
      has(text, R"(arkroute_requests_total{model="gpt-image-1",status="0",cache="MISS"} 1)"));
  EXPECT_TRUE(has(text, R"(arkroute_requests_total{model="",status="404",cache=""} 1)"));
}

TEST_F(RequestMetricsTest, GaugesAreMovedByTheirOwners) {
  metrics.inFlight().add(1);
  metrics.inFlight().add(1);
  metrics.inFlight().sub(1);
  Gauge& depth = metrics.upstreamQueueDepth("sim");
  depth.add(3);
  std::string text = registry.render();
  EXPECT_TRUE(has(text, "arkroute_requests_in_flight 1"));
  EXPECT_TRUE(has(text, R"(arkroute_upstream_queue_depth{upstream="sim"} 3)"));
  EXPECT_EQ(&metrics.upstreamQueueDepth("sim"), &depth);
}

}  // namespace
}  // namespace arkroute::ops
