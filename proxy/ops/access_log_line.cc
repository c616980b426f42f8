// Access-log line formatting (nlohmann::ordered_json keeps the field order).
#include "proxy/ops/access_log_line.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace arkroute::ops {

namespace {

double roundMillis(double ms) {
  return std::round(ms * 1000.0) / 1000.0;  // microsecond precision is plenty
}

nlohmann::ordered_json usd(const std::optional<double>& amount) {
  if (!amount) return nullptr;
  return std::round(*amount * 1e9) / 1e9;  // drops float noise such as 0.042000000000000003
}

nlohmann::ordered_json orNull(const std::string& text) {
  if (text.empty()) return nullptr;
  return text;
}

}  // namespace

std::string formatRfc3339Millis(int64_t ms_since_epoch) {
  int64_t seconds = ms_since_epoch / 1000;
  int64_t millis = ms_since_epoch % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  time_t t = static_cast<time_t>(seconds);
  tm utc{};
  gmtime_r(&t, &utc);
  char text[40];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(millis));
  return text;
}

std::string formatAccessLogLine(const RequestRecord& record, bool include_prompt) {
  nlohmann::ordered_json line;
  line["time"] = formatRfc3339Millis(record.time_ms);
  line["request_id"] = record.request_id;
  line["method"] = record.method;
  line["path"] = record.path;
  line["status"] = record.status;
  line["key"] = orNull(record.key_name);
  line["model"] = orNull(record.model);
  line["upstream"] = orNull(record.upstream);
  line["cache"] = orNull(record.cache_status);
  line["outcome"] = orNull(record.outcome);
  line["error"] = orNull(record.error_code);
  line["cost_usd"] = usd(record.cost_usd);
  line["saved_usd"] = usd(record.saved_usd);
  line["images"] = record.images;
  line["bytes_in"] = record.bytes_in;
  line["bytes_out"] = record.bytes_out;
  line["queue_ms"] = roundMillis(record.queue_ms);
  line["upstream_ms"] = roundMillis(record.upstream_ms);
  line["total_ms"] = roundMillis(record.total_ms);
  line["prompt_sha256"] = orNull(record.prompt_sha256);
  if (include_prompt && !record.prompt.empty()) line["prompt"] = record.prompt;
  // Invalid UTF-8 (a raw byte in a path) is replaced, never a reason to lose the line.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace arkroute::ops
