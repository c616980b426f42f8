// The request_filter phase for POST /v1/images/edits: a multipart/form-data body (numbers and
// booleans arrive as strings) read into the same fields as a generation, with the same rules, plus
// at least one image. A field given twice is refused: the gateway would route by one copy and the
// provider might read the other. Files are not looked at; the body is forwarded as it came, except
// for the model part when the model has an upstream_model.
#include <algorithm>
#include <charconv>

#include "proxy/http/headers.h"
#include "proxy/image_request.h"

namespace arkroute {

namespace {

bool repeatable(std::string_view name) {
  return name.ends_with("[]");  // image[]: one part per file
}

bool isImagePart(std::string_view name) {
  return name == "image" || name == "image[]";
}

ApiError malformed(std::string_view why) {
  return ApiError::invalidRequest(
      "The request body is not valid multipart/form-data: " + std::string(why) + ".", std::nullopt,
      std::string("invalid_multipart"));
}

std::optional<ApiError> readEditCount(std::string_view text, int* out) {
  int64_t n = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (error != std::errc() || end != text.data() + text.size()) {
    return ApiError::invalidRequest("Invalid type for 'n': expected an integer.", "n",
                                    "invalid_type");
  }
  if (n < 1 || n > 10) return ImageRequest::countOutOfRange(std::to_string(n));
  *out = static_cast<int>(n);
  return std::nullopt;
}

// "true" or "false" as the SDKs send them; curl users may capitalise.
std::optional<ApiError> readEditFlag(std::string_view text, bool* out) {
  if (http::equalsIgnoreCase(text, "true") || http::equalsIgnoreCase(text, "false")) {
    *out = http::equalsIgnoreCase(text, "true");
    return std::nullopt;
  }
  return ApiError::invalidRequest("Invalid value for 'stream': expected 'true' or 'false'.",
                                  "stream", "invalid_type");
}

}  // namespace

std::variant<std::unique_ptr<ImageRequest>, ApiError> ImageRequest::parseEdit(
    std::string_view body, std::string_view content_type) {
  std::optional<std::string> boundary = http::formBoundary(content_type);
  if (!boundary) {
    return ApiError::invalidRequest(
        "POST /v1/images/edits takes a multipart/form-data body (Content-Type: "
        "multipart/form-data; boundary=...), as the OpenAI SDKs send it.",
        std::nullopt, std::string("invalid_content_type"));
  }
  std::unique_ptr<ImageRequest> request(new ImageRequest());
  request->body_view_ = body;
  auto parsed = http::parseForm(body, *boundary);
  if (auto* why = std::get_if<std::string>(&parsed)) return malformed(*why);
  request->edit_form_ =
      EditForm{std::move(*boundary), std::move(std::get<std::vector<http::FormPart>>(parsed))};
  if (auto error = request->readForm()) return *error;
  return request;
}

std::optional<ApiError> ImageRequest::readForm() {
  std::vector<std::string_view> seen;
  std::optional<std::string_view> count, stream;
  bool has_image = false;
  const std::vector<http::FormPart>& parts = edit_form_->parts;
  for (const http::FormPart& part : parts) {
    if (!repeatable(part.name)) {
      if (std::find(seen.begin(), seen.end(), part.name) != seen.end()) {
        return ApiError::invalidRequest("The field '" + part.name + "' is given more than once.",
                                        part.name, std::string("duplicate_field"));
      }
      seen.push_back(part.name);
    }
    std::string_view value = part.value(body_view_);
    has_image = has_image || isImagePart(part.name);
    if (part.name == "prompt") prompt_ = value;
    if (part.name == "model") model_ = value;
    if (part.name == "response_format") response_format_ = value;
    if (part.name == "quality") quality_ = value;
    if (part.name == "size") size_ = value;
    if (part.name == "n") count = value;
    if (part.name == "stream") stream = value;
  }
  // In a fixed order, as for a generation, whatever the order of the parts.
  if (auto error = requirePrompt()) return error;
  if (auto error = requireModel()) return error;
  if (auto error = count ? readEditCount(*count, &n_) : std::nullopt) return error;
  if (auto error = stream ? readEditFlag(*stream, &stream_) : std::nullopt) return error;
  if (auto error = checkResponseFormat()) return error;
  if (!has_image) {
    return ApiError::invalidRequest(
        "Missing required parameter: 'image' (one file as 'image', or several as 'image[]').",
        std::string("image"), std::string("missing_required_parameter"));
  }
  return std::nullopt;
}

}  // namespace arkroute
