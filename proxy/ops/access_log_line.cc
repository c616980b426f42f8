// Access-log line formatting: a small JSON writer (strings escaped per RFC 8259, invalid UTF-8
// replaced by U+FFFD, numbers in their shortest round-trip form), about ten times cheaper than
// building a JSON document first: this runs on the worker thread for every request.
#include "proxy/ops/access_log_line.h"

#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace arkroute::ops {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one.
size_t utf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (lead > 0xF4 || length == 0 || i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  unsigned char second = byte(i + 1);
  if (lead == 0xE0 && second < 0xA0) return 0;  // overlong
  if (lead == 0xED && second > 0x9F) return 0;  // surrogates
  if (lead == 0xF0 && second < 0x90) return 0;  // overlong
  if (lead == 0xF4 && second > 0x8F) return 0;  // above U+10FFFF
  return length;
}

void appendString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    size_t plain = i;  // copy runs of characters that need nothing in one append
    while (plain < text.size() && text[plain] >= 0x20 && text[plain] < 0x7f && text[plain] != '"' &&
           text[plain] != '\\') {
      ++plain;
    }
    if (plain > i) {
      out->append(text.substr(i, plain - i));
      i = plain - 1;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c < 0x20 || c == 0x7f) {
      out->append("\\u00").push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else if (size_t length = utf8SequenceLength(text, i)) {
      out->append(text.substr(i, length));
      i += length - 1;
    } else {
      out->append("\\ufffd");
    }
  }
  out->push_back('"');
}

void appendNumber(std::string* out, double value) {
  if (!std::isfinite(value)) value = 0;
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, result.ptr);
}

// Writes `,"name":` (no comma before the first field).
void appendName(std::string* out, std::string_view name) {
  if (out->size() > 1) out->push_back(',');
  appendString(out, name);
  out->push_back(':');
}

void field(std::string* out, std::string_view name, std::string_view text) {
  appendName(out, name);
  appendString(out, text);
}

// "" is written as null.
void fieldOrNull(std::string* out, std::string_view name, std::string_view text) {
  appendName(out, name);
  if (text.empty()) {
    out->append("null");
  } else {
    appendString(out, text);
  }
}

void field(std::string* out, std::string_view name, double value) {
  appendName(out, name);
  appendNumber(out, value);
}

void field(std::string* out, std::string_view name, int64_t value) {
  appendName(out, name);
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, result.ptr);
}

// Milliseconds to the microsecond.
void fieldMs(std::string* out, std::string_view name, double ms) {
  field(out, name, std::round(ms * 1000.0) / 1000.0);
}

// USD to the nano-dollar, which drops float noise such as 0.042000000000000003; null = unknown.
void fieldUsd(std::string* out, std::string_view name, const std::optional<double>& amount) {
  appendName(out, name);
  if (amount) {
    appendNumber(out, std::round(*amount * 1e9) / 1e9);
  } else {
    out->append("null");
  }
}

}  // namespace

std::string formatRfc3339Millis(int64_t ms_since_epoch) {
  int64_t seconds = ms_since_epoch / 1000;
  int64_t millis = ms_since_epoch % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  // Requests arrive many per second: format the date and time once per second and thread.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached[32];
  if (seconds != cached_second) {
    time_t t = static_cast<time_t>(seconds);
    tm utc{};
    gmtime_r(&t, &utc);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second = seconds;
  }
  char text[40];
  std::snprintf(text, sizeof text, "%s.%03dZ", cached, static_cast<int>(millis));
  return text;
}

std::string formatAccessLogLine(const RequestRecord& record) {
  std::string out;
  out.reserve(512 + record.prompt.size());
  out.push_back('{');
  field(&out, "time", formatRfc3339Millis(record.time_ms));
  field(&out, "request_id", record.request_id);
  field(&out, "method", record.method);
  field(&out, "path", record.path);
  field(&out, "status", int64_t{record.status});
  fieldOrNull(&out, "key", record.key_name);
  fieldOrNull(&out, "model", record.model);
  fieldOrNull(&out, "upstream", record.upstream);
  fieldOrNull(&out, "cache", record.cache_status);
  fieldOrNull(&out, "outcome", record.outcome);
  fieldOrNull(&out, "error", record.error_code);
  fieldUsd(&out, "cost_usd", record.cost_usd);
  fieldUsd(&out, "saved_usd", record.saved_usd);
  field(&out, "images", int64_t{record.images});
  field(&out, "bytes_in", static_cast<int64_t>(record.bytes_in));
  field(&out, "bytes_out", static_cast<int64_t>(record.bytes_out));
  fieldMs(&out, "queue_ms", record.queue_ms);
  fieldMs(&out, "upstream_ms", record.upstream_ms);
  fieldMs(&out, "total_ms", record.total_ms);
  fieldOrNull(&out, "prompt_sha256", record.prompt_sha256);
  if (!record.prompt.empty()) field(&out, "prompt", record.prompt);
  out.append("}\n");
  return out;
}

}  // namespace arkroute::ops
