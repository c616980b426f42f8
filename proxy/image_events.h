// Which Images API stream an SSE stream is: a generation's (image_generation.* events) or an
// edit's (image_edit.* events), and the names of its completed event.
#pragma once

#include <string_view>

namespace arkroute {

enum class ImageEvents { kGeneration, kEdit };

// "image_generation.completed" or "image_edit.completed".
constexpr std::string_view completedEventName(ImageEvents events) {
  return events == ImageEvents::kEdit ? "image_edit.completed" : "image_generation.completed";
}

// The same name in quotes, as the "type" member of an unnamed event's JSON data holds it.
constexpr std::string_view quotedCompletedEventName(ImageEvents events) {
  return events == ImageEvents::kEdit ? "\"image_edit.completed\""
                                      : "\"image_generation.completed\"";
}

}  // namespace arkroute
