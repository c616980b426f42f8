// Validation rules for image generation requests, each with an OpenAI-style error.
#include "proxy/image_request.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "proxy/http/headers.h"
#include "proxy/json_text.h"

namespace arkroute {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// The top-level fields the gateway reads, found in one pass over the object. One of them given
// twice is refused (repeated): the gateway would read the first, while many providers' parsers
// keep the last, so a key limited to one model, or priced for one size and n, could ask for
// another.
struct KnownFields {
  std::optional<element> prompt, model, n, stream, response_format, quality, size;
  std::string_view repeated;

  explicit KnownFields(simdjson::dom::object object) {
    for (simdjson::dom::key_value_pair field : object) {
      std::optional<element>* slot = slotFor(field.key);
      if (!slot) continue;
      if (*slot && repeated.empty()) repeated = field.key;
      if (!*slot) *slot = field.value;
    }
  }

 private:
  std::optional<element>* slotFor(std::string_view key) {
    if (key == "prompt") return &prompt;
    if (key == "model") return &model;
    if (key == "n") return &n;
    if (key == "stream") return &stream;
    if (key == "response_format") return &response_format;
    if (key == "quality") return &quality;
    if (key == "size") return &size;
    return nullptr;
  }
};

std::optional<ApiError> readOptionalString(const std::optional<element>& value, const char* key,
                                           std::string_view* out) {
  if (!value || value->is_null()) return std::nullopt;
  std::string_view text;
  if (value->get(text) != simdjson::SUCCESS) {
    return ApiError::invalidRequest(
        std::string("Invalid type for '") + key + "': expected a string.", std::string(key),
        std::string("invalid_type"));
  }
  *out = text;  // points into the parser's document, which the request keeps
  return std::nullopt;
}

std::optional<ApiError> readCount(const std::optional<element>& value, int* out) {
  if (!value || value->is_null()) return std::nullopt;
  int64_t n = 0;
  double as_double = 0;
  if (value->get(n) != simdjson::SUCCESS) {
    if (value->get(as_double) != simdjson::SUCCESS || std::floor(as_double) != as_double) {
      return ApiError::invalidRequest("Invalid type for 'n': expected an integer.", "n",
                                      "invalid_type");
    }
    // Checked as a double first: one past int64's range (1e20, or an integer that no 64-bit
    // integer holds) has no int64 to convert to.
    if (as_double < 1 || as_double > 10) {
      char text[32];
      std::snprintf(text, sizeof text, "%.17g", as_double);
      return ImageRequest::countOutOfRange(text);
    }
    n = static_cast<int64_t>(as_double);
  }
  if (n < 1 || n > 10) return ImageRequest::countOutOfRange(std::to_string(n));
  *out = static_cast<int>(n);
  return std::nullopt;
}

std::optional<ApiError> readStreamFlag(const std::optional<element>& value, bool* out) {
  if (!value || value->is_null()) return std::nullopt;
  if (value->get(*out) != simdjson::SUCCESS) {
    return ApiError::invalidRequest("Invalid type for 'stream': expected a boolean.", "stream",
                                    "invalid_type");
  }
  return std::nullopt;
}

}  // namespace

namespace {

// Idle parsers of this thread. Bounded: a burst of concurrent requests does not pin its peak, and
// a parser grown by a huge body is not kept. A request outliving its thread's pool (destroyed
// during thread exit) frees its parser instead of returning it.
constexpr size_t kMaxIdleParsers = 64;
constexpr size_t kMaxPooledCapacity = 1 << 20;
thread_local bool parser_pool_gone = false;

struct ParserPool {
  std::vector<std::unique_ptr<simdjson::dom::parser>> idle;
  ~ParserPool() { parser_pool_gone = true; }
};
thread_local ParserPool parser_pool;

std::unique_ptr<simdjson::dom::parser> takeParser() {
  if (parser_pool_gone || parser_pool.idle.empty()) {
    return std::make_unique<simdjson::dom::parser>();
  }
  auto parser = std::move(parser_pool.idle.back());
  parser_pool.idle.pop_back();
  return parser;
}

}  // namespace

void ImageRequest::ParserReturn::operator()(simdjson::dom::parser* parser) const {
  std::unique_ptr<simdjson::dom::parser> owned(parser);
  if (!parser_pool_gone && parser_pool.idle.size() < kMaxIdleParsers &&
      parser->capacity() <= kMaxPooledCapacity) {
    parser_pool.idle.push_back(std::move(owned));
  }
}

std::variant<std::unique_ptr<ImageRequest>, ApiError> ImageRequest::parse(std::string_view body) {
  std::unique_ptr<ImageRequest> request(new ImageRequest());
  // With simdjson's padding after the text, the parser reads the copy in place instead of making
  // a padded copy of its own.
  request->body_.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  request->body_.assign(body);
  request->body_view_ = request->body_;
  return parseJson(std::move(request));
}

std::variant<std::unique_ptr<ImageRequest>, ApiError> ImageRequest::parseInPlace(
    const std::string& body) {
  static_assert(http::kBodyPadding >= simdjson::SIMDJSON_PADDING);
  if (body.capacity() - body.size() < simdjson::SIMDJSON_PADDING) return parse(body);
  std::unique_ptr<ImageRequest> request(new ImageRequest());
  request->body_view_ = body;
  return parseJson(std::move(request));
}

std::variant<std::unique_ptr<ImageRequest>, ApiError> ImageRequest::parseJson(
    std::unique_ptr<ImageRequest> request) {
  request->parser_.reset(takeParser().release());
  std::string_view text = request->body_view_;
  simdjson::error_code error =
      request->parser_->parse(text.data(), text.size(), false).get(request->document_);
  if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) {
    // Valid JSON all the same (a field the gateway does not know, forwarded as it is): read with
    // such integers as doubles, the value the cache key gives every number anyway.
    if (auto widened = json_text::widenBigIntegers(text)) {
      widened->reserve(widened->size() + simdjson::SIMDJSON_PADDING);
      error =
          request->parser_->parse(widened->data(), widened->size(), false).get(request->document_);
    }
  }
  if (error != simdjson::SUCCESS) {
    return ApiError::invalidRequest(
        "We could not parse the JSON body of your request. The body must be a JSON object, "
        "sent with Content-Type: application/json.",
        std::nullopt, std::string("invalid_json"));
  }
  if (auto error = request->validate()) return *error;
  return request;
}

std::optional<ApiError> ImageRequest::validate() {
  if (document_.type() != element_type::OBJECT) {
    return ApiError::invalidRequest("The request body must be a JSON object.", std::nullopt,
                                    std::string("invalid_json"));
  }
  KnownFields fields(document_.get_object().value_unsafe());
  if (!fields.repeated.empty()) {
    std::string name(fields.repeated);
    return ApiError::invalidRequest("The field '" + name + "' is given more than once.", name,
                                    std::string("duplicate_field"));
  }
  if (auto error = readOptionalString(fields.prompt, "prompt", &prompt_)) return error;
  if (auto error = requirePrompt()) return error;
  if (auto error = readOptionalString(fields.model, "model", &model_)) return error;
  if (auto error = requireModel()) return error;
  if (auto error = readCount(fields.n, &n_)) return error;
  if (auto error = readStreamFlag(fields.stream, &stream_)) return error;
  if (auto error =
          readOptionalString(fields.response_format, "response_format", &response_format_)) {
    return error;
  }
  if (auto error = checkResponseFormat()) return error;
  if (auto error = readOptionalString(fields.quality, "quality", &quality_)) return error;
  if (auto error = readOptionalString(fields.size, "size", &size_)) return error;
  return std::nullopt;
}

std::optional<ApiError> ImageRequest::requirePrompt() const {
  if (!prompt_.empty()) return std::nullopt;
  return ApiError::invalidRequest("Missing required parameter: 'prompt' (a non-empty string).",
                                  std::string("prompt"), std::string("missing_required_parameter"));
}

std::optional<ApiError> ImageRequest::requireModel() const {
  if (!model_.empty()) return std::nullopt;
  return ApiError::invalidRequest(
      "Missing required parameter: 'model'. Use one of the models listed by GET /v1/models.",
      std::string("model"), std::string("missing_required_parameter"));
}

std::optional<ApiError> ImageRequest::checkResponseFormat() const {
  if (!response_format_.empty() && response_format_ != "url" && response_format_ != "b64_json") {
    return ApiError::invalidRequest("Invalid value for 'response_format': '" +
                                        std::string(response_format_) +
                                        "'. Supported values are: 'url' and 'b64_json'.",
                                    std::string("response_format"), std::string("invalid_value"));
  }
  return std::nullopt;
}

ApiError ImageRequest::countOutOfRange(std::string_view n) {
  return ApiError::invalidRequest(
      "Invalid value for 'n': " + std::string(n) + ". It must be between 1 and 10.", "n",
      "integer_out_of_range");
}

// A generation's key covers its parsed body; an edit's, its form's parts (files by SHA-256).
cache::CacheKey ImageRequest::cacheKey(
    std::string_view upstream, std::string_view upstream_model, std::string_view tenant,
    const std::vector<std::array<uint8_t, 32>>* file_digests) const {
  if (!edit_form_) return cache::CacheKey::make(upstream, upstream_model, document_, tenant);
  std::vector<cache::EditFormPart> parts;
  parts.reserve(edit_form_->parts.size());
  size_t file = 0;
  for (const http::FormPart& part : edit_form_->parts) {
    bool is_file = part.filename.has_value();
    const std::array<uint8_t, 32>* digest =
        is_file && file_digests && file < file_digests->size() ? &(*file_digests)[file] : nullptr;
    file += is_file ? 1 : 0;
    parts.push_back({part.name, is_file, part.content_type, part.value(body_view_), digest});
  }
  return cache::CacheKey::makeEdit(upstream, upstream_model, parts, tenant);
}

std::vector<std::string_view> ImageRequest::editFiles() const {
  std::vector<std::string_view> files;
  if (!edit_form_) return files;
  for (const http::FormPart& part : edit_form_->parts) {
    if (part.filename) files.push_back(part.value(body_view_));
  }
  return files;
}

int ImageRequest::mostImages() const {
  constexpr int kSeedreamMostInASet = 15;
  if (isEdit()) {  // a form's options are text: a set counts as the most Seedream makes
    for (const http::FormPart& part : edit_form_->parts) {
      if (!part.filename && part.name == "sequential_image_generation" &&
          part.value(body_view_) == "auto") {
        return std::max(n_, kSeedreamMostInASet);
      }
    }
    return n_;
  }
  std::string_view mode;
  if (!document_.is_object() ||
      document_["sequential_image_generation"].get(mode) != simdjson::SUCCESS || mode != "auto") {
    return n_;
  }
  double most = kSeedreamMostInASet;
  double given = 0;
  if (document_.at_pointer("/sequential_image_generation_options/max_images").get(given) ==
          simdjson::SUCCESS &&
      given >= 1 && given < kSeedreamMostInASet) {
    most = std::ceil(given);
  }
  return std::max(n_, static_cast<int>(most));
}

}  // namespace arkroute
