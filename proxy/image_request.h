// The request_filter phase for POST /v1/images/generations: parses the body with simdjson,
// validates the fields the gateway relies on (prompt, model, n, stream, response_format) and keeps
// the parsed document for the cache key. Fields it does not know are left alone: the body is
// forwarded unchanged except for the rewrites done by body_rewrite.
#pragma once

#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "proxy/api_error.h"

namespace arkroute {

class ImageRequest {
 public:
  // Parses and validates a copy of body. Returns the request or the error to send.
  static std::variant<std::unique_ptr<ImageRequest>, ApiError> parse(std::string_view body);

  const std::string& body() const { return body_; }
  // The string fields view the parsed document: valid as long as this ImageRequest lives.
  std::string_view model() const { return model_; }
  std::string_view prompt() const { return prompt_; }
  int n() const { return n_; }
  bool stream() const { return stream_; }
  // "url", "b64_json" or "" when absent.
  std::string_view responseFormat() const { return response_format_; }
  std::string_view quality() const { return quality_; }
  std::string_view size() const { return size_; }
  // The parsed body (an object). Valid as long as this ImageRequest lives.
  simdjson::dom::element document() const { return document_; }

 private:
  ImageRequest() = default;
  std::optional<ApiError> validate();

  // Borrowed from a per-thread pool and given back on destruction: a parser's buffers are sized
  // once and reused by later requests instead of being allocated for every request.
  struct ParserReturn {
    void operator()(simdjson::dom::parser* parser) const;
  };

  std::string body_;
  std::unique_ptr<simdjson::dom::parser, ParserReturn> parser_;
  simdjson::dom::element document_;
  std::string_view model_;
  std::string_view prompt_;
  std::string_view response_format_;
  std::string_view quality_;
  std::string_view size_;
  int n_ = 1;
  bool stream_ = false;
};

}  // namespace arkroute
