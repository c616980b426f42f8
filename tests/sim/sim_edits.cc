// POST /v1/images/edits for the simulator: the multipart/form-data fields (numbers and booleans
// as strings, as the SDKs send them) read into the same ImageParams as a generation.
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "proxy/http/multipart_form.h"
#include "tests/sim/sim_images.h"

namespace arkroute::sim {

namespace {

// Reads one text field into params; an error body for a bad value.
std::optional<std::string> readField(std::string_view name, std::string_view value,
                                     ImageParams* out) {
  std::string text(value);
  if (name == "prompt") out->prompt = text;
  if (name == "model") out->model = text;
  if (name == "size") out->size = text == "auto" ? "1024x1024" : text;
  if (name == "quality") out->quality = text;
  if (name == "background") out->background = text;
  if (name == "output_format") out->output_format = text;
  if (name == "response_format") out->response_format = text;
  if (name == "stream") out->stream = text == "true";
  if (name == "partial_images") out->partial_images = std::clamp(std::atoi(text.c_str()), 0, 3);
  if (name == "n") {
    char* end = nullptr;
    long n = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || n < 1 || n > 10) {
      return errorJson("'n' must be an integer from 1 to 10.", "n");
    }
    out->n = static_cast<int>(n);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parseEditRequest(const std::string& body,
                                            const std::string& content_type, ImageParams* out) {
  auto boundary = http::formBoundary(content_type);
  if (!boundary) return errorJson("The body must be multipart/form-data.", "");
  auto parsed = http::parseForm(body, *boundary);
  if (auto* why = std::get_if<std::string>(&parsed)) return errorJson("Bad form: " + *why, "");
  XXH3_state_t* images = XXH3_createState();
  XXH3_64bits_reset(images);
  bool has_image = false;
  for (const http::FormPart& part : std::get<std::vector<http::FormPart>>(parsed)) {
    std::string_view value = part.value(body);
    if (part.name == "image" || part.name == "image[]") {
      has_image = true;
      XXH3_64bits_update(images, value.data(), value.size());
    } else if (auto error = readField(part.name, value, out)) {
      XXH3_freeState(images);
      return error;
    }
  }
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits_digest(images)));
  XXH3_freeState(images);
  if (!has_image) return errorJson("Missing required parameter: 'image'.", "image");
  if (out->prompt.empty()) return errorJson("Missing required parameter: 'prompt'.", "prompt");
  out->seed = "edit:" + std::string(digest) + out->seed;
  out->event_kind = "image_edit";
  return std::nullopt;
}

}  // namespace arkroute::sim
