// Which Images API stream an SSE stream is: a generation's (image_generation.* events) or an
// edit's (image_edit.* events), and the names of its events. Two dialects share those prefixes:
// OpenAI's (partial_image previews, then one completed event per image, carrying it) and
// Seedream's (one partial_succeeded or partial_failed event per image, then one completed event
// with the usage).
#pragma once

#include <string>
#include <string_view>

namespace arkroute {

enum class ImageEvents { kGeneration, kEdit };

// "image_generation.<kind>" or "image_edit.<kind>".
inline std::string eventName(ImageEvents events, std::string_view kind) {
  std::string name = events == ImageEvents::kEdit ? "image_edit." : "image_generation.";
  return name.append(kind);
}

// "image_generation.completed" or "image_edit.completed".
inline std::string completedEventName(ImageEvents events) {
  return eventName(events, "completed");
}

}  // namespace arkroute
