// SSE parsing as the HTML standard's event-stream rules say (lines, fields, blank line dispatches),
// and conversion of completed events to images JSON.
#include "proxy/sse_capture.h"

#include <cstring>
#include <nlohmann/json.hpp>

namespace arkroute {

namespace {

// The first line ending in [p, end): a CR or an LF, whichever comes first; end when none.
const char* findLineEnd(const char* p, const char* end) {
  const void* lf = std::memchr(p, '\n', static_cast<size_t>(end - p));
  const char* stop = lf ? static_cast<const char*>(lf) : end;
  const void* cr = std::memchr(p, '\r', static_cast<size_t>(stop - p));
  return cr ? static_cast<const char*>(cr) : stop;
}

}  // namespace

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
    // A named event other than a completed image (a partial image, an error) is decided by its
    // name: its data, often a whole image, is not kept.
    if (event_.empty() || event_ == completedEventName(events_)) {
      if (data_.size() + value.size() + 1 + completed_bytes_ > limit_) return giveUp();
      if (has_data_) data_ += '\n';
      data_.append(value);
    }
    has_data_ = true;
  }
  line_.clear();
}

void SseCapture::endEvent() {
  if (has_data_) {
    // The event's name says what it is; only an unnamed event is told by the type in its data.
    bool named = !event_.empty();
    if (named ? event_ == "error" : data_.find("\"type\":\"error\"") != std::string::npos) {
      failed_ = true;
    }
    if (named ? event_ == completedEventName(events_)
              : data_.find(quotedCompletedEventName(events_)) != std::string::npos) {
      completed_bytes_ += data_.size();
      completed_.push_back(std::move(data_));
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
  completed_bytes_ = 0;
}

std::optional<std::string> SseCapture::imagesJson() const {
  if (failed_ || overflowed_ || completed_.empty()) return std::nullopt;
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
