// Watches an image SSE stream as it passes through to the client and collects the events that
// carry its images, so a streamed miss can be stored in the cache in the same JSON form as a
// non-streamed one: OpenAI's completed events (`image_generation.completed`, or
// `image_edit.completed` for an edit), or Seedream's `partial_succeeded` events, once its
// completed event has closed the set. Partial previews are ignored; an `error` event, or a
// Seedream `partial_failed` one (an image is missing), makes the stream uncacheable. Lines are
// parsed as they arrive (sse_lines.h: LF, CRLF or CR endings, any split), so each byte is looked at
// once. An event is known by its name; only an unnamed one by the type in its data. Memory: the
// current kept (or unnamed) event's data and the kept images, never more than the limit; a stream
// that needs more is given up (uncacheable) and passes through untouched.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/image_events.h"
#include "proxy/sse_lines.h"

namespace arkroute {

class SseCapture {
 public:
  // limit: the most bytes it may hold (see retainedBytes). events: a generation's or an edit's.
  explicit SseCapture(size_t limit, ImageEvents events = ImageEvents::kGeneration);

  // Feeds bytes in arrival order (any split).
  void feed(std::string_view bytes);
  // After the stream ended: the images JSON body when at least one completed event arrived, no
  // error did and the limit was never passed; nullopt otherwise. OpenAI's events give
  // {"created","data":[{"b64_json"}],...}; Seedream's give its own answer's form,
  // {"model","created","data":[{"b64_json","size"}],"usage":{"generated_images",...}}, in
  // image_index order, which replays as Seedream's events again (toSseReplay).
  std::optional<std::string> imagesJson() const;
  size_t completedEvents() const { return completed_.size(); }
  // Bytes held: the line and event being read and the completed events kept.
  size_t retainedBytes() const { return line_.size() + data_.size() + kept_bytes_; }
  bool overflowed() const { return overflowed_; }

 private:
  struct LineSink;
  void appendToLine(std::string_view piece);
  void endLine();
  void endEvent();
  void giveUp();
  bool keepsDataOf(std::string_view event) const;
  std::optional<std::string> seedreamJson() const;

  size_t limit_;
  std::string completed_name_, succeeded_name_, failed_name_;  // the stream's event names
  sse::LineSplitter lines_;
  std::string line_;   // the line being read, without its ending
  std::string event_;  // the current event's name ("" when it has no event: line)
  std::string data_;   // the current event's data lines, joined with '\n'
  bool has_data_ = false;
  std::vector<std::string> completed_;  // raw JSON of each completed event's data
  std::vector<std::string> succeeded_;  // and of each Seedream partial_succeeded event's
  size_t kept_bytes_ = 0;
  bool failed_ = false;
  bool overflowed_ = false;
};

}  // namespace arkroute
