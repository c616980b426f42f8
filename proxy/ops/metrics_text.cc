// Prometheus text format helpers: names, escaping, numbers, header and sample lines.
#include "proxy/ops/metrics_text.h"

#include <charconv>
#include <cmath>

namespace arkroute::ops {

namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool isNameChar(char c) {
  return isNameStart(c) || (c >= '0' && c <= '9');
}

}  // namespace

std::string_view toString(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

bool isValidMetricName(std::string_view name) {
  if (name.empty() || !(isNameStart(name[0]) || name[0] == ':')) return false;
  for (char c : name) {
    if (!isNameChar(c) && c != ':') return false;
  }
  return true;
}

bool isValidLabelName(std::string_view name) {
  if (name.empty() || !isNameStart(name[0]) || name.starts_with("__")) return false;
  for (char c : name) {
    if (!isNameChar(c)) return false;
  }
  return true;
}

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string escapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string formatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

void appendHeader(std::string* out, std::string_view name, std::string_view help, MetricType type) {
  out->append("# HELP ").append(name).append(" ").append(escapeHelp(help)).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(toString(type)).append("\n");
}

void appendSample(std::string* out, std::string_view name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, double value, const ExtraLabel* extra) {
  out->append(name);
  if (!names.empty() || extra) {
    out->push_back('{');
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(names[i]).append("=\"");
      out->append(escapeLabelValue(i < values.size() ? values[i] : std::string())).append("\"");
    }
    if (extra) {
      if (!names.empty()) out->push_back(',');
      out->append(extra->name).append("=\"").append(escapeLabelValue(extra->value)).append("\"");
    }
    out->push_back('}');
  }
  out->push_back(' ');
  out->append(formatValue(value)).push_back('\n');
}

}  // namespace arkroute::ops
