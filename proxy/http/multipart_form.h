// multipart/form-data bodies (RFC 7578, as the OpenAI SDKs send /v1/images/edits): the boundary
// from a Content-Type value, the body split into its parts without copying their contents (part
// headers are parsed by picohttpparser), and one part's contents replaced in place. Strict about
// structure (CRLF line ends, a closing delimiter, no boundary inside a part, no transfer encoding):
// a body the gateway reads one way must not reach a provider that could read it another way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace arkroute::http {

struct FormPart {
  std::string name;                     // Content-Disposition's name
  std::optional<std::string> filename;  // present for file parts
  std::string content_type;             // the part's Content-Type, "" when it has none
  size_t value_at = 0;                  // the contents, as a range of the body
  size_t value_length = 0;

  std::string_view value(std::string_view body) const {
    return body.substr(value_at, value_length);
  }
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type value (quoted or not), or
// nullopt when the value is another media type or has no valid boundary (1-70 characters).
std::optional<std::string> formBoundary(std::string_view content_type);

// The parts of body in order, or a message saying what is wrong with it.
std::variant<std::vector<FormPart>, std::string> parseForm(std::string_view body,
                                                           std::string_view boundary);

// body with part's contents replaced by value; nullopt when value would end the part early (it
// contains the delimiter).
std::optional<std::string> replacePartValue(std::string_view body, std::string_view boundary,
                                            const FormPart& part, std::string_view value);

}  // namespace arkroute::http
