// An edit form as a Seedream generation: data URIs built with OpenSSL's base64 (image_response).
#include "proxy/seedream_edit.h"

#include <nlohmann/json.hpp>

#include "proxy/edit_as_generation.h"
#include "proxy/image_response.h"
#include "proxy/json_text.h"

namespace arkroute::seedream {

namespace {

// "data:image/png;base64,..." for one file; nullopt when it is of no image type.
std::optional<std::string> dataUri(std::string_view body, const http::FormPart& part) {
  std::string_view bytes = part.value(body);
  std::string type = part.content_type.starts_with("image/") ? part.content_type
                                                             : std::string(detectImageType(bytes));
  if (!type.starts_with("image/")) return std::nullopt;
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return "data:" + type + ";base64," + encodeBase64(bytes);
}

}  // namespace

std::variant<std::string, ApiError> editAsGeneration(std::string_view body,
                                                     const std::vector<http::FormPart>& parts,
                                                     std::string_view upstream_model,
                                                     bool b64_only) {
  auto read = readEditAsGeneration(body, parts);
  if (auto* error = std::get_if<ApiError>(&read)) return *error;
  EditAsGeneration& edit = std::get<EditAsGeneration>(read);
  if (edit.mask) {
    return ApiError::invalidValue("Seedream edits take no mask: describe the change in the prompt.",
                                  "mask");
  }
  // Megabytes of base64: written as JSON text directly, not through a JSON tree.
  std::string images = edit.images.size() > 1 ? "[" : "";
  for (const http::FormPart* part : edit.images) {
    std::optional<std::string> uri = dataUri(body, *part);
    if (!uri) {
      return ApiError::invalidValue(
          "The file '" + part->filename.value_or("") +
              "' is not an image Seedream reads (PNG, JPEG, WebP or GIF).",
          "image");
    }
    if (images.size() > 1) images.push_back(',');
    json_text::appendString(*uri, images);
  }
  if (edit.images.size() > 1) images.push_back(']');
  edit.fields["model"] = std::string(upstream_model);
  if (b64_only) edit.fields["response_format"] = "b64_json";
  std::string json = edit.fields.dump();
  json_text::addRawMember(json, "image", images);
  return json;
}

}  // namespace arkroute::seedream
