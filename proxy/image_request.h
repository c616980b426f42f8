// The request_filter phase for POST /v1/images/generations: parses the body with simdjson,
// validates the fields the gateway relies on (prompt, model, n, stream, response_format) and keeps
// the parsed document for the cache key. Fields it does not know are left alone: the body is
// forwarded unchanged except for the rewrites done by body_rewrite. POST /v1/images/edits bodies
// (multipart/form-data) get the same checks on their form fields (image_edit_request.cc).
#pragma once

#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cache/cache_key.h"
#include "proxy/api_error.h"
#include "proxy/http/multipart_form.h"

namespace arkroute {

class ImageRequest {
 public:
  // Parses and validates a copy of body. Returns the request or the error to send.
  static std::variant<std::unique_ptr<ImageRequest>, ApiError> parse(std::string_view body);
  // The same without the copy when body's capacity leaves simdjson's padding after its text (the
  // server reserves http::kBodyPadding): body must then outlive the request, unchanged.
  static std::variant<std::unique_ptr<ImageRequest>, ApiError> parseInPlace(
      const std::string& body);
  // The same for an edit: body is multipart/form-data, content_type the request's Content-Type.
  // The body is not copied (it may be tens of MB of images): it must outlive the request.
  static std::variant<std::unique_ptr<ImageRequest>, ApiError> parseEdit(
      std::string_view body, std::string_view content_type);

  // An edit's form: its boundary and every part in order (their contents are ranges of body()).
  struct EditForm {
    std::string boundary;
    std::vector<http::FormPart> parts;
  };
  const std::optional<EditForm>& editForm() const { return edit_form_; }
  bool isEdit() const { return edit_form_.has_value(); }
  // The error for an `n` outside 1-10.
  static ApiError countOutOfRange(std::string_view n);  // n as the request wrote it

  // The body as the client sent it (a generation's copy or borrowed text, an edit's bytes).
  std::string_view body() const { return body_view_; }
  // The string fields view the parsed document: valid as long as this ImageRequest lives.
  std::string_view model() const { return model_; }
  std::string_view prompt() const { return prompt_; }
  int n() const { return n_; }
  // The most images a Seedream upstream may make for this request: n, or for a set
  // (sequential_image_generation "auto") its max_images (1-15; 15 when not given, or in a form).
  int mostImages() const;
  bool stream() const { return stream_; }
  // "url", "b64_json" or "" when absent.
  std::string_view responseFormat() const { return response_format_; }
  std::string_view quality() const { return quality_; }
  std::string_view size() const { return size_; }
  // The parsed body (an object; generations only). Valid as long as this ImageRequest lives.
  simdjson::dom::element document() const { return document_; }
  // This request's cache key once routed: the parsed body's for a generation, the form's parts'
  // for an edit (file_digests: its files' SHA-256 in order, when computed already).
  cache::CacheKey cacheKey(
      std::string_view upstream, std::string_view upstream_model, std::string_view tenant,
      const std::vector<std::array<uint8_t, 32>>* file_digests = nullptr) const;
  // An edit's file parts' bytes, in order (none for a generation).
  std::vector<std::string_view> editFiles() const;

 private:
  ImageRequest() = default;
  // Parses body_view_ (padded) and validates it.
  static std::variant<std::unique_ptr<ImageRequest>, ApiError> parseJson(
      std::unique_ptr<ImageRequest> request);
  std::optional<ApiError> validate();
  std::optional<ApiError> readForm();
  // Rules both kinds share, once the field is read.
  std::optional<ApiError> requirePrompt() const;
  std::optional<ApiError> requireModel() const;
  std::optional<ApiError> checkResponseFormat() const;

  // Borrowed from a per-thread pool and given back on destruction: a parser's buffers are sized
  // once and reused by later requests instead of being allocated for every request.
  struct ParserReturn {
    void operator()(simdjson::dom::parser* parser) const;
  };

  std::string body_;            // a generation's copy, when parsed from a view
  std::string_view body_view_;  // body_, or the borrowed text
  std::unique_ptr<simdjson::dom::parser, ParserReturn> parser_;
  simdjson::dom::element document_;
  std::string_view model_;
  std::string_view prompt_;
  std::string_view response_format_;
  std::string_view quality_;
  std::string_view size_;
  int n_ = 1;
  bool stream_ = false;
  std::optional<EditForm> edit_form_;
};

}  // namespace arkroute
