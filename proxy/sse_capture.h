// Watches an image-generation SSE stream as it passes through to the client and collects its
// `image_generation.completed` events, so a streamed miss can be stored in the cache in the same
// JSON form as a non-streamed one. Partial images are ignored; an `error` event makes the stream
// uncacheable. Memory: completed images only (partials are dropped as soon as they are seen).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace arkroute {

class SseCapture {
 public:
  // Feeds bytes in arrival order (any split).
  void feed(std::string_view bytes);
  // After the stream ended: the images JSON body ({"created","data":[{"b64_json"}],...}) when at
  // least one completed event arrived and no error did; nullopt otherwise.
  std::optional<std::string> imagesJson() const;
  size_t completedEvents() const { return completed_.size(); }

 private:
  void handleEvent(std::string_view event);

  std::string pending_;
  std::vector<std::string> completed_;  // raw JSON of each completed event's data
  bool failed_ = false;
};

}  // namespace arkroute
