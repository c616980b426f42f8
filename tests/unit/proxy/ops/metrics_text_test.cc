// Unit tests for the Prometheus text format helpers: names, escaping, numbers, sample lines.
#include "proxy/ops/metrics_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace arkroute::ops {
namespace {

TEST(MetricsText, MetricAndLabelNamesFollowTheFormat) {
  EXPECT_TRUE(isValidMetricName("arkroute_requests_total"));
  EXPECT_TRUE(isValidMetricName("job:rate5m"));
  EXPECT_FALSE(isValidMetricName(""));
  EXPECT_FALSE(isValidMetricName("9lives"));
  EXPECT_FALSE(isValidMetricName("cost-usd"));
  EXPECT_TRUE(isValidLabelName("model"));
  EXPECT_FALSE(isValidLabelName("__name__"));
  EXPECT_FALSE(isValidLabelName("a:b"));
  EXPECT_FALSE(isValidLabelName("1a"));
}

TEST(MetricsText, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escapeLabelValue(R"(a\b"c)"
                             "\nd"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escapeLabelValue("plain é"), "plain é");
}

TEST(MetricsText, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(escapeHelp("say \"hi\"\\\nnext"), "say \"hi\"\\\\\\nnext");
}

TEST(MetricsText, ValuesAreShortestRoundTripWithSpecials) {
  EXPECT_EQ(formatValue(0), "0");
  EXPECT_EQ(formatValue(42), "42");
  EXPECT_EQ(formatValue(0.042), "0.042");
  EXPECT_EQ(formatValue(-1.5), "-1.5");
  EXPECT_EQ(formatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatValue(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(formatValue(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(MetricsText, SampleLinesWithAndWithoutLabels) {
  std::string out;
  appendSample(&out, "up", {}, {}, 1);
  appendSample(&out, "req_total", {"model", "status"}, {"gpt \"x\"", "200"}, 3);
  ExtraLabel le{"le", "+Inf"};
  appendSample(&out, "d_bucket", {"upstream"}, {"sim"}, 7, &le);
  appendSample(&out, "only_le_bucket", {}, {}, 2, &le);
  EXPECT_EQ(out,
            "up 1\n"
            "req_total{model=\"gpt \\\"x\\\"\",status=\"200\"} 3\n"
            "d_bucket{upstream=\"sim\",le=\"+Inf\"} 7\n"
            "only_le_bucket{le=\"+Inf\"} 2\n");
}

TEST(MetricsText, HeaderHasHelpThenType) {
  std::string out;
  appendHeader(&out, "x_total", "Things.\nMore.", MetricType::kCounter);
  EXPECT_EQ(out, "# HELP x_total Things.\\nMore.\n# TYPE x_total counter\n");
}

}  // namespace
}  // namespace arkroute::ops
