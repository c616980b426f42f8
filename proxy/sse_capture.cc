// SSE parsing as the HTML standard's event-stream rules say (lines, fields, blank line dispatches),
// and conversion of the kept events to images JSON.
#include "proxy/sse_capture.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

namespace arkroute {

namespace {

// The first line ending in [p, end): a CR or an LF, whichever comes first; end when none.
const char* findLineEnd(const char* p, const char* end) {
  const void* lf = std::memchr(p, '\n', static_cast<size_t>(end - p));
  const char* stop = lf ? static_cast<const char*>(lf) : end;
  const void* cr = std::memchr(p, '\r', static_cast<size_t>(stop - p));
  return cr ? static_cast<const char*>(cr) : stop;
}

// `"type":"<name>"` as an unnamed event's data holds it (minified, as providers send it).
std::string typeMember(const std::string& name) {
  return "\"type\":\"" + name + "\"";
}

bool isString(const nlohmann::json& object, const char* key) {
  return object.contains(key) && object[key].is_string();
}

}  // namespace

SseCapture::SseCapture(size_t limit, ImageEvents events)
    : limit_(limit),
      completed_name_(completedEventName(events)),
      succeeded_name_(eventName(events, "partial_succeeded")),
      failed_name_(eventName(events, "partial_failed")) {}

void SseCapture::feed(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end && !overflowed_) {
    if (after_cr_) {  // CRLF is one line ending, even when split between two reads
      after_cr_ = false;
      if (*p == '\n') {
        ++p;
        continue;
      }
    }
    const char* eol = findLineEnd(p, end);
    appendToLine(std::string_view(p, static_cast<size_t>(eol - p)));
    if (eol == end) break;
    after_cr_ = *eol == '\r';
    p = eol + 1;
    if (!overflowed_) endLine();
  }
}

void SseCapture::appendToLine(std::string_view piece) {
  if (overflowed_ || piece.empty()) return;
  if (retainedBytes() + piece.size() > limit_) return giveUp();
  line_.append(piece);
}

void SseCapture::endLine() {
  if (line_.empty()) {
    endEvent();
    return;
  }
  if (line_.front() == ':') {  // a comment (keep-alive)
    line_.clear();
    return;
  }
  std::string_view line(line_);
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "event") {
    event_.assign(value);
  } else if (field == "data") {
    // A named event other than a kept one (a preview, an error) is decided by its name: its
    // data, often a whole image, is not kept.
    if (keepsDataOf(event_)) {
      if (data_.size() + value.size() + 1 + kept_bytes_ > limit_) return giveUp();
      if (has_data_) data_ += '\n';
      data_.append(value);
    }
    has_data_ = true;
  }
  line_.clear();
}

bool SseCapture::keepsDataOf(std::string_view event) const {
  return event.empty() || event == completed_name_ || event == succeeded_name_;
}

void SseCapture::endEvent() {
  if (has_data_) {
    // The event's name says what it is; only an unnamed event is told by the type in its data.
    auto is = [&](const std::string& name) {
      return event_.empty() ? data_.find(typeMember(name)) != std::string::npos : event_ == name;
    };
    if (is("error") || is(failed_name_)) failed_ = true;
    std::vector<std::string>* kept = is(completed_name_)   ? &completed_
                                     : is(succeeded_name_) ? &succeeded_
                                                           : nullptr;
    if (kept) {
      kept_bytes_ += data_.size();
      kept->push_back(std::move(data_));
    }
  }
  data_.clear();
  has_data_ = false;
  event_.clear();
}

void SseCapture::giveUp() {
  overflowed_ = true;
  std::string().swap(line_);
  std::string().swap(data_);
  std::vector<std::string>().swap(completed_);
  std::vector<std::string>().swap(succeeded_);
  kept_bytes_ = 0;
}

std::optional<std::string> SseCapture::imagesJson() const {
  if (failed_ || overflowed_ || completed_.empty()) return std::nullopt;
  if (!succeeded_.empty()) return seedreamJson();
  nlohmann::json out = {{"created", 0}, {"data", nlohmann::json::array()}};
  for (const std::string& raw : completed_) {
    nlohmann::json event = nlohmann::json::parse(raw, nullptr, false);
    if (!event.is_object() || !isString(event, "b64_json")) return std::nullopt;
    out["data"].push_back({{"b64_json", event["b64_json"]}});
    if (event.contains("created_at")) out["created"] = event["created_at"];
    for (const char* key : {"size", "quality", "background", "output_format", "usage"}) {
      if (event.contains(key)) out[key] = event[key];
    }
  }
  return out.dump();
}

// Seedream's images, ordered by image_index (each index once), with the completed event's usage.
std::optional<std::string> SseCapture::seedreamJson() const {
  nlohmann::json summary = nlohmann::json::parse(completed_.back(), nullptr, false);
  if (!summary.is_object()) return std::nullopt;
  std::vector<nlohmann::json> items(succeeded_.size());
  nlohmann::json out = {{"created", summary.value("created", 0)}};
  for (const std::string& raw : succeeded_) {
    nlohmann::json event = nlohmann::json::parse(raw, nullptr, false);
    if (!event.is_object() || !isString(event, "b64_json")) return std::nullopt;
    if (!event.contains("image_index") || !event["image_index"].is_number_unsigned()) {
      return std::nullopt;
    }
    size_t index = event["image_index"];
    if (index >= items.size() || !items[index].is_null()) return std::nullopt;
    items[index] = {{"b64_json", event["b64_json"]}};
    if (isString(event, "size")) items[index]["size"] = event["size"];
    if (isString(event, "model")) out["model"] = event["model"];
  }
  out["data"] = std::move(items);
  // usage.generated_images marks the dialect for the replay (toSseReplay)
  out["usage"] = summary.contains("usage") && summary["usage"].is_object()
                     ? summary["usage"]
                     : nlohmann::json::object();
  if (!out["usage"].contains("generated_images")) out["usage"]["generated_images"] = items.size();
  return out.dump();
}

}  // namespace arkroute
