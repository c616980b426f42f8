// An OpenAI edit form (multipart/form-data) read as the JSON generation request of a provider that
// takes edits as generations with reference images (Kling, Seedream): its text fields, the known
// numeric and boolean ones typed, and its files sorted into the images and the mask.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/api_error.h"
#include "proxy/http/multipart_form.h"

namespace arkroute {

struct EditAsGeneration {
  nlohmann::json fields = nlohmann::json::object();  // the text fields, by name
  std::vector<const http::FormPart*> images;         // "image" or "image[]" files, in form order
  const http::FormPart* mask = nullptr;
};

// Reads parts of body. n, seed and partial_images become integers, guidance_scale a number,
// stream and watermark booleans ("true"/"false"); a value that is not one is a 400 naming it.
// Other text fields stay strings; files under other names are ignored. A text field (name or
// value) that is not UTF-8, or an edit without an image file, is a 400.
std::variant<EditAsGeneration, ApiError> readEditAsGeneration(
    std::string_view body, const std::vector<http::FormPart>& parts);

}  // namespace arkroute
