// multipart/form-data bodies (RFC 7578, as the OpenAI SDKs send /v1/images/edits): the boundary
// from a Content-Type value, the body split into its parts without copying their contents (part
// headers are parsed by picohttpparser), text fields set (a part's contents replaced, or a part
// added), and a new form built from fields and files. Strict about
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

// A text field to set: its name and its new contents.
struct FormField {
  std::string_view name;
  std::string_view value;
};

// body (whose parts are parts) with each field set, in one pass: the first part with the field's
// name gets the field's value as its contents, and a field no part has is added as a text part
// after the last one. Field names must be distinct. nullopt when a value would end its part early
// (it contains the delimiter), a new name cannot be written in a Content-Disposition (a quote or a
// line break), or the form has no parts.
std::optional<std::string> setFormFields(std::string_view body, std::string_view boundary,
                                         const std::vector<FormPart>& parts,
                                         const std::vector<FormField>& fields);

// A file to put in a form: its field name, file name, Content-Type and bytes.
struct FormFile {
  std::string_view name;
  std::string_view filename;
  std::string_view content_type;
  std::string_view bytes;
};

// A multipart/form-data body with the text fields, then the files, delimited by boundary. nullopt
// when a value or a file holds the delimiter (pick another boundary), or a name, file name or
// Content-Type cannot be written in a part's headers (a quote or a line break).
std::optional<std::string> buildForm(std::string_view boundary,
                                     const std::vector<FormField>& fields,
                                     const std::vector<FormFile>& files);

}  // namespace arkroute::http
