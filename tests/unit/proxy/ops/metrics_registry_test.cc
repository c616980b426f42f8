// Unit tests for the metrics registry: families and labels, histograms, collectors, concurrent
// updates summed exactly, registration errors, and output that promtool accepts.
#include "proxy/ops/metrics_registry.h"

#include <gtest/gtest.h>

#include <thread>

#include "unit/proxy/ops/promtool.h"

namespace arkroute::ops {
namespace {

TEST(MetricsRegistry, RendersCountersGaugesWithHelpAndType) {
  MetricsRegistry registry;
  auto& requests = registry.counter("t_requests_total", "Requests.", {"model", "status"});
  auto& depth = registry.gauge("t_queue_depth", "Queue.", {"upstream"});
  requests.with({"a", "200"}).inc();
  requests.with({"a", "200"}).inc(2);
  requests.with({"b", "500"}).inc();
  depth.with({"sim"}).add(3);
  depth.with({"sim"}).sub(1);
  EXPECT_EQ(registry.render(),
            "# HELP t_requests_total Requests.\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{model=\"a\",status=\"200\"} 3\n"
            "t_requests_total{model=\"b\",status=\"500\"} 1\n"
            "# HELP t_queue_depth Queue.\n"
            "# TYPE t_queue_depth gauge\n"
            "t_queue_depth{upstream=\"sim\"} 2\n");
}

// with() remembers recent lookups per thread: the memo must never hand out another family's
// child (a new registry may reuse a freed one's address) nor mix up label tuples that share a slot.
TEST(MetricsRegistry, RememberedLookupsStayPerFamilyAndPerLabels) {
  for (int round = 0; round < 3; ++round) {
    MetricsRegistry registry;
    auto& family = registry.counter("t_memo_total", "Memo.", {"model", "status"});
    EXPECT_EQ(family.with({"m", "200"}).value(), 0) << "round " << round;
    family.with({"m", "200"}).inc();
  }
  MetricsRegistry registry;
  auto& family = registry.counter("t_many_total", "Many.", {"model", "status"});
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < 300; ++i) {
      family.with({"model-" + std::to_string(i % 30), std::to_string(i)}).inc(i + 1);
    }
  }
  for (int i = 0; i < 300; ++i) {
    Counter& child = family.with({"model-" + std::to_string(i % 30), std::to_string(i)});
    ASSERT_EQ(child.value(), 2.0 * (i + 1)) << i;
  }
  EXPECT_NE(&family.with({"a", "b"}), &family.with({"ab", ""}));
  EXPECT_NE(&family.with({"a", "b"}), &family.with({"b", "a"}));
}

TEST(MetricsRegistry, CountersNeverGoDown) {
  MetricsRegistry registry;
  Counter& counter = registry.counter("t_total", "T.").with({});
  counter.inc(2);
  counter.inc(-5);
  EXPECT_EQ(counter.value(), 2);
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeAndInclusive) {
  MetricsRegistry registry;
  auto& family = registry.histogram("t_seconds", "Durations.", {"upstream"}, {0.1, 1, 10});
  Histogram& h = family.with({"sim"});
  for (double v : {0.05, 0.1, 0.5, 1.0, 30.0}) h.observe(v);
  std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE t_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("t_seconds_bucket{upstream=\"sim\",le=\"0.1\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("t_seconds_bucket{upstream=\"sim\",le=\"1\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("t_seconds_bucket{upstream=\"sim\",le=\"10\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("t_seconds_bucket{upstream=\"sim\",le=\"+Inf\"} 5\n"), std::string::npos);
  const double sum = 0.05 + 0.1 + 0.5 + 1.0 + 30.0;  // added in the same order
  EXPECT_NE(text.find("t_seconds_sum{upstream=\"sim\"} " + formatValue(sum) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("t_seconds_count{upstream=\"sim\"} 5\n"), std::string::npos);
}

TEST(MetricsRegistry, GenerationBucketsSpanFiftyMillisecondsToTenMinutes) {
  auto bounds = generationSecondsBuckets();
  EXPECT_EQ(bounds.front(), 0.05);
  EXPECT_EQ(bounds.back(), 600);
  EXPECT_NO_THROW(Histogram{requestSecondsBuckets()});
  EXPECT_LT(requestSecondsBuckets().front(), 0.05);
}

TEST(MetricsRegistry, CollectorsAreReadAtEachScrape) {
  MetricsRegistry registry;
  double entries = 1;
  registry.collector("t_entries", "Entries.", MetricType::kGauge, {"store"}, [&entries] {
    return std::vector<MetricsRegistry::Sample>{{{"rocks"}, entries}};
  });
  EXPECT_NE(registry.render().find("t_entries{store=\"rocks\"} 1\n"), std::string::npos);
  entries = 5;
  EXPECT_NE(registry.render().find("t_entries{store=\"rocks\"} 5\n"), std::string::npos);
}

TEST(MetricsRegistry, AValueCollectorIsOneUnlabelledSampleReadAtEachScrape) {
  MetricsRegistry registry;
  uint64_t pauses = 0;
  registry.valueCollector("t_pauses_total", "Pauses.", MetricType::kCounter,
                          [&pauses] { return static_cast<double>(pauses); });
  EXPECT_NE(registry.render().find("# TYPE t_pauses_total counter\nt_pauses_total 0\n"),
            std::string::npos)
      << registry.render();
  pauses = 3;
  EXPECT_NE(registry.render().find("\nt_pauses_total 3\n"), std::string::npos);
}

TEST(MetricsRegistry, RejectsBadNamesDuplicatesAndBounds) {
  MetricsRegistry registry;
  registry.counter("t_total", "T.");
  EXPECT_THROW(registry.counter("t_total", "again"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("bad-name", "x"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("t_g", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("t_h", "x", {"le"}, {1, 2}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("t_h2", "x", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.collector("t_c", "x", MetricType::kHistogram, {}, {}),
               std::invalid_argument);
}

TEST(MetricsRegistry, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  auto& counter = registry.counter("t_total", "T.", {"worker"});
  auto& histogram = registry.histogram("t_seconds", "S.", {}, {1});
  auto& gauge = registry.gauge("t_in_flight", "G.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        counter.with({"shared"}).inc();
        counter.with({std::to_string(t % 2)}).inc(0.5);
        histogram.with({}).observe(0.5);
        gauge.with({}).add(1);
        gauge.with({}).sub(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.with({"shared"}).value(), 40000);
  EXPECT_EQ(counter.with({"0"}).value(), 10000);
  EXPECT_EQ(histogram.with({}).snapshot().cumulative.back(), 40000u);
  EXPECT_EQ(gauge.with({}).value(), 0);
}

// Values are kept per thread and summed on read: a request's gauge may go up on one thread and
// down on another, and a histogram's sum and count add up across threads.
TEST(MetricsRegistry, ValuesMovedOnDifferentThreadsAddUp) {
  MetricsRegistry registry;
  Gauge& gauge = registry.gauge("t_in_flight", "G.").with({});
  Histogram& histogram = registry.histogram("t_seconds", "S.", {}, {1}).with({});
  std::thread([&] {
    gauge.add(3);
    histogram.observe(0.25);
  }).join();
  std::thread([&] {
    gauge.sub(2);
    histogram.observe(2);
  }).join();
  EXPECT_EQ(gauge.value(), 1);
  Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{1, 2}));
  EXPECT_DOUBLE_EQ(snapshot.sum, 2.25);
}

TEST(MetricsRegistry, OutputPassesPromtool) {
  ASSERT_TRUE(testing::havePromtool()) << "promtool not found at " << testing::kPromtool
                                       << " (scripts/setup.sh installs the prometheus package)";
  MetricsRegistry registry;
  registry.counter("t_requests_total", "Requests with \"quotes\" and \\ backslash.", {"model"})
      .with({"we\"ird\\model\nname"})
      .inc(2);
  registry.gauge("t_in_flight", "In flight.").with({}).add(1);
  registry.histogram("t_duration_seconds", "Duration.", {"upstream"}, generationSecondsBuckets())
      .with({"sim"})
      .observe(3.2);
  registry.collector("t_cache_entries", "Entries.", MetricType::kGauge, {}, [] {
    return std::vector<MetricsRegistry::Sample>{{{}, 7}};
  });
  testing::PromtoolResult result = testing::promtoolCheck(registry.render());
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << registry.render();
}

}  // namespace
}  // namespace arkroute::ops
