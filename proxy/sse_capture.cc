// SSE parsing as the HTML standard's event-stream rules say (lines, fields, blank line dispatches),
// and conversion of the kept events to images JSON.
#include "proxy/sse_capture.h"

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <vector>

#include "proxy/json_text.h"

namespace arkroute {

namespace {

// `"type":"<name>"` as an unnamed event's data holds it (minified, as providers send it).
std::string typeMember(const std::string& name) {
  return "\"type\":\"" + name + "\"";
}

using simdjson::dom::element;

// The answer fields a completed event carries besides its image; usage last, where the price is
// read from.
constexpr std::array<const char*, 5> kAnswerFields = {"size", "quality", "background",
                                                      "output_format", "usage"};

}  // namespace

SseCapture::SseCapture(size_t limit, ImageEvents events)
    : limit_(limit),
      completed_name_(completedEventName(events)),
      succeeded_name_(eventName(events, "partial_succeeded")),
      failed_name_(eventName(events, "partial_failed")) {}

// Reads lines through the shared splitter; a capture that gave up reads no more.
struct SseCapture::LineSink {
  SseCapture& capture;
  bool linePiece(std::string_view piece) {
    capture.appendToLine(piece);
    return !capture.overflowed_;
  }
  bool lineEnd() {
    capture.endLine();
    return !capture.overflowed_;
  }
};

void SseCapture::feed(std::string_view bytes) {
  if (overflowed_) return;
  LineSink sink{*this};
  lines_.feed(bytes, sink);
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
  auto [field, value] = sse::splitField(line_);  // a comment (keep-alive) has no name
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
  simdjson::dom::parser parser;
  std::string items;  // the data array's members
  std::string created = "0";
  std::array<std::string, kAnswerFields.size()> fields;  // minified; the last event's win
  for (const std::string& raw : completed_) {
    element event;
    std::string_view b64;
    if (parser.parse(raw).get(event) != simdjson::SUCCESS ||
        event["b64_json"].get(b64) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    if (!items.empty()) items.push_back(',');
    json_text::ObjectWriter(items).string("b64_json", b64).close();
    element value;
    if (event["created_at"].get(value) == simdjson::SUCCESS) created = simdjson::minify(value);
    for (size_t i = 0; i < kAnswerFields.size(); ++i) {
      if (event[kAnswerFields[i]].get(value) == simdjson::SUCCESS) {
        fields[i] = simdjson::minify(value);
      }
    }
  }
  std::string out;
  out.reserve(items.size() + 256);
  out.append("{\"created\":").append(created).append(",\"data\":[").append(items).append("]");
  for (size_t i = 0; i < kAnswerFields.size(); ++i) {
    if (!fields[i].empty()) out.append(",\"").append(kAnswerFields[i]).append("\":") += fields[i];
  }
  out.push_back('}');
  return out;
}

// Seedream's images, ordered by image_index (each index once), with the completed event's usage:
// a first pass finds each event's index, a second writes the images in that order.
std::optional<std::string> SseCapture::seedreamJson() const {
  simdjson::dom::parser parser;
  element summary, value;
  if (parser.parse(completed_.back()).get(summary) != simdjson::SUCCESS) return std::nullopt;
  std::string created = "0", usage = "{}";
  if (summary["created"].get(value) == simdjson::SUCCESS) created = simdjson::minify(value);
  bool counted = false;
  if (summary["usage"].get(value) == simdjson::SUCCESS && value.is_object()) {
    usage = simdjson::minify(value);
    counted = value["generated_images"].error() == simdjson::SUCCESS;
  }
  constexpr size_t kUnseen = SIZE_MAX;
  std::vector<size_t> event_of_image(succeeded_.size(), kUnseen);
  std::string model;
  for (size_t at = 0; at < succeeded_.size(); ++at) {
    element event;
    uint64_t index = 0;
    std::string_view b64, name;
    if (parser.parse(succeeded_[at]).get(event) != simdjson::SUCCESS ||
        event["image_index"].get(index) != simdjson::SUCCESS ||
        event["b64_json"].get(b64) != simdjson::SUCCESS || index >= event_of_image.size() ||
        event_of_image[index] != kUnseen) {
      return std::nullopt;
    }
    event_of_image[index] = at;
    if (event["model"].get(name) == simdjson::SUCCESS) model = name;
  }
  std::string out = "{\"created\":" + created + ",\"data\":[";
  for (size_t at : event_of_image) {
    element event = parser.parse(succeeded_[at]).value_unsafe();  // parsed above
    if (out.back() != '[') out.push_back(',');
    json_text::ObjectWriter item(out);
    item.string("b64_json", event["b64_json"].get_string().value_unsafe());
    std::string_view size;
    if (event["size"].get(size) == simdjson::SUCCESS) item.string("size", size);
    item.close();
  }
  out += "]";
  if (!model.empty()) {
    out += ",\"model\":";
    json_text::appendString(model, out);
  }
  if (!counted) {  // usage.generated_images marks the dialect for the replay (toSseReplay)
    json_text::addRawMember(usage, "generated_images", std::to_string(event_of_image.size()));
  }
  out.append(",\"usage\":").append(usage).push_back('}');  // last: the price is read from the tail
  return out;
}

}  // namespace arkroute
