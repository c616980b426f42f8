// Watches an image SSE stream as it passes through to the client and collects its completed events
// (`image_generation.completed`, or `image_edit.completed` for an edit), so a streamed miss can be
// stored in the cache in the same JSON form as a non-streamed one. Partial images are ignored; an
// `error` event makes the stream uncacheable. Lines are parsed as they arrive (LF, CRLF or CR
// endings, any split), so each byte is looked at once. An event is known by its name; only an
// unnamed one by the type in its data. Memory: the current completed (or unnamed) event's data and
// the completed images, never more than the limit; a stream that needs more is given up
// (uncacheable) and passes through untouched.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/image_events.h"

namespace arkroute {

class SseCapture {
 public:
  // limit: the most bytes it may hold (see retainedBytes). events: a generation's or an edit's.
  explicit SseCapture(size_t limit, ImageEvents events = ImageEvents::kGeneration)
      : limit_(limit), events_(events) {}

  // Feeds bytes in arrival order (any split).
  void feed(std::string_view bytes);
  // After the stream ended: the images JSON body ({"created","data":[{"b64_json"}],...}) when at
  // least one completed event arrived, no error did and the limit was never passed; nullopt
  // otherwise.
  std::optional<std::string> imagesJson() const;
  size_t completedEvents() const { return completed_.size(); }
  // Bytes held: the line and event being read and the completed events kept.
  size_t retainedBytes() const { return line_.size() + data_.size() + completed_bytes_; }
  bool overflowed() const { return overflowed_; }

 private:
  void appendToLine(std::string_view piece);
  void endLine();
  void endEvent();
  void giveUp();

  size_t limit_;
  ImageEvents events_;
  std::string line_;       // the line being read, without its ending
  bool after_cr_ = false;  // the last byte seen was a CR: an LF right after it ends nothing
  std::string event_;      // the current event's name ("" when it has no event: line)
  std::string data_;       // the current event's data lines, joined with '\n'
  bool has_data_ = false;
  std::vector<std::string> completed_;  // raw JSON of each completed event's data
  size_t completed_bytes_ = 0;
  bool failed_ = false;
  bool overflowed_ = false;
};

}  // namespace arkroute
