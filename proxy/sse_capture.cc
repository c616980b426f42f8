// SSE framing (events end at a blank line) and conversion of completed events to images JSON.
#include "proxy/sse_capture.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

namespace arkroute {

namespace {

// Returns the value of the first "field:" line in an event block ("" when absent). Multiple
// data lines are joined with '\n' as the SSE spec says.
std::string fieldOf(std::string_view event, std::string_view field) {
  std::string value;
  bool found = false;
  size_t start = 0;
  while (start < event.size()) {
    size_t end = event.find('\n', start);
    if (end == std::string_view::npos) end = event.size();
    std::string_view line = event.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      std::string_view rest = line.substr(field.size() + 1);
      if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      if (found) value += '\n';
      value.append(rest);
      found = true;
    }
    start = end + 1;
  }
  return value;
}

}  // namespace

void SseCapture::feed(std::string_view bytes) {
  pending_.append(bytes);
  size_t start = 0;
  while (true) {
    size_t end = pending_.find("\n\n", start);
    size_t crlf = pending_.find("\r\n\r\n", start);
    size_t sep_len = 2;
    if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
      end = crlf;
      sep_len = 4;
    }
    if (end == std::string::npos) break;
    handleEvent(std::string_view(pending_).substr(start, end - start));
    start = end + sep_len;
  }
  pending_.erase(0, start);
}

void SseCapture::handleEvent(std::string_view event) {
  std::string name = fieldOf(event, "event");
  std::string data = fieldOf(event, "data");
  if (name == "error" || data.find("\"type\":\"error\"") != std::string::npos) failed_ = true;
  if (name == "image_generation.completed" ||
      data.find("\"image_generation.completed\"") != std::string::npos) {
    completed_.push_back(std::move(data));
  }
}

std::optional<std::string> SseCapture::imagesJson() const {
  if (failed_ || completed_.empty()) return std::nullopt;
  nlohmann::json out = {{"created", 0}, {"data", nlohmann::json::array()}};
  for (const std::string& raw : completed_) {
    nlohmann::json event = nlohmann::json::parse(raw, nullptr, false);
    if (!event.is_object() || !event.contains("b64_json") || !event["b64_json"].is_string()) {
      return std::nullopt;
    }
    out["data"].push_back({{"b64_json", event["b64_json"]}});
    if (event.contains("created_at")) out["created"] = event["created_at"];
    for (const char* key : {"size", "quality", "background", "output_format", "usage"}) {
      if (event.contains(key)) out[key] = event[key];
    }
  }
  return out.dump();
}

}  // namespace arkroute
