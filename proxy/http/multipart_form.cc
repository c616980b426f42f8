// multipart/form-data: boundary, parts, and the replacement of one part's contents.
#include "proxy/http/multipart_form.h"

#include <algorithm>
#include <array>
#include <functional>

#include "proxy/http/headers.h"
#include "proxy/http/picohttpparser.h"

namespace arkroute::http {

namespace {

constexpr size_t kMaxParts = 64;           // 16 images, a mask and every documented field fit
constexpr size_t kMaxPartHeaders = 8;      // Content-Disposition, Content-Type, a few more
constexpr size_t kMaxBoundaryLength = 70;  // RFC 2046

bool isBoundaryChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// One "; name=value" parameter list, value a token or a quoted string (backslash escapes).
// Calls visit(name, value) for each; false when the list is malformed.
template <typename Visit>
bool forEachParameter(std::string_view params, Visit visit) {
  size_t at = 0;
  while (at < params.size()) {
    size_t semicolon = params.find(';', at);
    if (semicolon == std::string_view::npos) return trimOws(params.substr(at)).empty();
    at = semicolon + 1;
    size_t equals = params.find('=', at);
    if (equals == std::string_view::npos) return false;
    std::string_view name = trimOws(params.substr(at, equals - at));
    if (name.empty() || !isFieldNameText(name)) return false;
    at = equals + 1;
    while (at < params.size() && (params[at] == ' ' || params[at] == '\t')) ++at;
    std::string value;
    if (at < params.size() && params[at] == '"') {
      ++at;
      for (; at < params.size() && params[at] != '"'; ++at) {
        if (params[at] == '\\' && at + 1 < params.size()) ++at;
        value += params[at];
      }
      if (at >= params.size()) return false;  // no closing quote
      ++at;
    } else {
      size_t end = std::min(params.find(';', at), params.size());
      value = std::string(trimOws(params.substr(at, end - at)));
      if (value.empty() || !isFieldNameText(value)) return false;
      at = end;
    }
    if (!visit(name, std::move(value))) return false;
    while (at < params.size() && (params[at] == ' ' || params[at] == '\t')) ++at;
    if (at < params.size() && params[at] != ';') return false;
  }
  return true;
}

// Fills part's name and filename from a Content-Disposition value; false unless it is
// "form-data" with exactly one name.
bool readDisposition(std::string_view value, FormPart* part) {
  size_t semicolon = value.find(';');
  std::string_view kind = trimOws(value.substr(0, semicolon));
  if (!equalsIgnoreCase(kind, "form-data") || semicolon == std::string_view::npos) return false;
  bool named = false;
  bool ok = forEachParameter(value.substr(semicolon), [&](std::string_view key, std::string v) {
    if (equalsIgnoreCase(key, "name")) {
      if (named) return false;
      named = true;
      part->name = std::move(v);
    } else if (equalsIgnoreCase(key, "filename")) {
      if (part->filename) return false;
      part->filename = std::move(v);
    }
    return true;
  });
  return ok && named && !part->name.empty();
}

// Parses the header block starting at body[at]; on success sets part's fields and returns where
// the contents begin.
std::variant<size_t, std::string> readPartHeaders(std::string_view body, size_t at,
                                                  FormPart* part) {
  std::array<phr_header, kMaxPartHeaders> fields{};
  size_t count = fields.size();
  int used = phr_parse_headers(body.data() + at, body.size() - at, fields.data(), &count, 0);
  if (used == -2) return std::string("a part's headers are not terminated by a blank line");
  if (used < 0) return std::string("a part's headers are malformed");
  bool disposed = false;
  for (size_t i = 0; i < count; ++i) {
    std::string_view name(fields[i].name, fields[i].name_len);
    std::string_view value(fields[i].value, fields[i].value_len);
    if (equalsIgnoreCase(name, "content-disposition")) {
      if (disposed || !readDisposition(value, part)) {
        return std::string("a part has no valid Content-Disposition (form-data; name=\"...\")");
      }
      disposed = true;
    } else if (equalsIgnoreCase(name, "content-type")) {
      part->content_type = std::string(value);
    } else if (equalsIgnoreCase(name, "content-transfer-encoding")) {
      // RFC 7578 deprecates it; a provider that decoded it would read another value.
      return std::string("a part has a Content-Transfer-Encoding");
    }
  }
  if (!disposed) return std::string("a part has no Content-Disposition header");
  return at + static_cast<size_t>(used);
}

}  // namespace

std::optional<std::string> formBoundary(std::string_view content_type) {
  size_t semicolon = content_type.find(';');
  if (!equalsIgnoreCase(trimOws(content_type.substr(0, semicolon)), "multipart/form-data") ||
      semicolon == std::string_view::npos) {
    return std::nullopt;
  }
  std::optional<std::string> boundary;
  bool ok = forEachParameter(content_type.substr(semicolon),
                             [&](std::string_view key, std::string value) {
                               if (!equalsIgnoreCase(key, "boundary")) return true;
                               if (boundary) return false;
                               boundary = std::move(value);
                               return true;
                             });
  if (!ok || !boundary || boundary->empty() || boundary->size() > kMaxBoundaryLength ||
      boundary->back() == ' ') {
    return std::nullopt;
  }
  for (char c : *boundary) {
    if (!isBoundaryChar(c)) return std::nullopt;
  }
  return boundary;
}

std::variant<std::vector<FormPart>, std::string> parseForm(std::string_view body,
                                                           std::string_view boundary) {
  const std::string delimiter = "--" + std::string(boundary);
  const std::string next_delimiter = "\r\n" + delimiter;
  // Boyer-Moore-Horspool skips ahead by up to the delimiter's length: random image bytes hold a
  // CR or a '-' every 256 bytes, where a first-character search stops each time.
  const std::boyer_moore_horspool_searcher search_delimiter(delimiter.begin(), delimiter.end());
  size_t at = 0;
  if (!body.starts_with(delimiter)) {  // a preamble before the first delimiter is allowed
    at = body.find(next_delimiter);
    if (at == std::string_view::npos) return std::string("the body does not contain its boundary");
    at += 2;
  }
  std::vector<FormPart> parts;
  while (true) {
    at += delimiter.size();
    if (body.substr(at).starts_with("--")) return parts;  // the closing delimiter
    while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;
    if (!body.substr(at).starts_with("\r\n")) {
      return std::string("a boundary line is not followed by CRLF");
    }
    if (parts.size() == kMaxParts) {
      return "the form has more than " + std::to_string(kMaxParts) + " parts";
    }
    FormPart part;
    auto begins = readPartHeaders(body, at + 2, &part);
    if (auto* error = std::get_if<std::string>(&begins)) return std::move(*error);
    size_t contents = std::get<size_t>(begins);
    // One pass over the contents (they may be tens of MB): the first "--boundary" after them must
    // be the next delimiter line's, right after a CRLF.
    auto found = std::search(body.begin() + static_cast<std::ptrdiff_t>(contents), body.end(),
                             search_delimiter);
    if (found == body.end()) return std::string("the body ends before its closing boundary");
    size_t found_at = static_cast<size_t>(found - body.begin());
    // A sender picks a boundary its contents never hold (RFC 2046). One inside a part, after a
    // bare LF say, would be a part boundary to a lenient provider and contents to the gateway:
    // the two would read different fields (another model than the one routed and priced).
    if (found_at < contents + 2 || body.substr(found_at - 2, 2) != "\r\n") {
      return std::string("a part's contents hold the boundary");
    }
    size_t end = found_at - 2;
    part.value_at = contents;
    part.value_length = end - contents;
    parts.push_back(std::move(part));
    at = end + 2;
  }
}

namespace {

bool writableInAHeader(std::string_view text) {
  return text.find_first_of("\"\r\n") == std::string_view::npos;
}

// "\r\n--boundary\r\nContent-Disposition: form-data; name=...\r\n[Content-Type...\r\n]\r\n": what
// comes before a part's contents, the CRLF ending the previous part's contents included.
void appendPartStart(std::string_view delimiter, std::string_view name, const FormFile* file,
                     std::string* out) {
  out->append("\r\n").append(delimiter);
  out->append("\r\nContent-Disposition: form-data; name=\"").append(name).append("\"");
  if (file) {
    out->append("; filename=\"").append(file->filename).append("\"\r\nContent-Type: ");
    out->append(file->content_type);
  }
  out->append("\r\n\r\n");
}

}  // namespace

std::optional<std::string> setFormFields(std::string_view body, std::string_view boundary,
                                         const std::vector<FormPart>& parts,
                                         const std::vector<FormField>& fields) {
  if (parts.empty()) return std::nullopt;
  const std::string delimiter = "--" + std::string(boundary);
  std::vector<std::pair<const FormPart*, std::string_view>> replaced;  // in body order, below
  std::string added;
  for (const FormField& field : fields) {
    if (field.value.find(delimiter) != std::string_view::npos) return std::nullopt;
    auto named = std::find_if(parts.begin(), parts.end(),
                              [&](const FormPart& part) { return part.name == field.name; });
    if (named != parts.end()) {
      replaced.emplace_back(&*named, field.value);
      continue;
    }
    if (!writableInAHeader(field.name)) return std::nullopt;
    appendPartStart(delimiter, field.name, nullptr, &added);
    added.append(field.value);
  }
  std::sort(replaced.begin(), replaced.end(),
            [](const auto& a, const auto& b) { return a.first->value_at < b.first->value_at; });
  const size_t last_end = parts.back().value_at + parts.back().value_length;
  std::string out;
  out.reserve(body.size() + added.size() + 64);
  size_t copied = 0;
  for (const auto& [part, value] : replaced) {
    out.append(body.substr(copied, part->value_at - copied)).append(value);
    copied = part->value_at + part->value_length;
  }
  out.append(body.substr(copied, last_end - copied)).append(added).append(body.substr(last_end));
  return out;
}

std::optional<std::string> buildForm(std::string_view boundary,
                                     const std::vector<FormField>& fields,
                                     const std::vector<FormFile>& files) {
  const std::string delimiter = "--" + std::string(boundary);
  std::string out;
  for (const FormField& field : fields) {
    if (!writableInAHeader(field.name) || field.value.find(delimiter) != std::string_view::npos) {
      return std::nullopt;
    }
    appendPartStart(delimiter, field.name, nullptr, &out);
    out.append(field.value);
  }
  for (const FormFile& file : files) {
    if (!writableInAHeader(file.name) || !writableInAHeader(file.filename) ||
        !writableInAHeader(file.content_type) ||
        file.bytes.find(delimiter) != std::string_view::npos) {
      return std::nullopt;
    }
    appendPartStart(delimiter, file.name, &file, &out);
    out.append(file.bytes);
  }
  out.append("\r\n").append(delimiter).append("--\r\n");
  return out.substr(2);  // the first delimiter has no CRLF before it
}

}  // namespace arkroute::http
