// The Prometheus text exposition format (version 0.0.4), the writing side: metric and label name
// checks, escaping of label values and HELP text, number formatting, and the HELP/TYPE header and
// sample lines. Pure functions, no state; used by MetricsRegistry::render.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace arkroute::ops {

enum class MetricType { kCounter, kGauge, kHistogram };
std::string_view toString(MetricType type);

inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names also exclude ':' and the "__" prefix.
bool isValidMetricName(std::string_view name);
bool isValidLabelName(std::string_view name);

// Label values: backslash, double quote and newline become \\, \" and \n.
std::string escapeLabelValue(std::string_view value);
// HELP text: backslash and newline become \\ and \n.
std::string escapeHelp(std::string_view help);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN" for the specials.
std::string formatValue(double value);

// "# HELP name help\n# TYPE name type\n".
void appendHeader(std::string* out, std::string_view name, std::string_view help, MetricType type);

// One label pair beyond the family's own (e.g. le="0.5" for histogram buckets).
struct ExtraLabel {
  std::string_view name;
  std::string_view value;
};

// `name{l1="v1",l2="v2"} value\n`; the braces are left out when there are no labels.
// names and values have the same length.
void appendSample(std::string* out, std::string_view name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, double value,
                  const ExtraLabel* extra = nullptr);

}  // namespace arkroute::ops
