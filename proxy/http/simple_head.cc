// picohttpparser (from libh2o-evloop) behind the simple-head fast path, and the checks that decide
// whether a head is simple enough to skip http-parser.
#include "proxy/http/simple_head.h"

#include <array>
#include <charconv>

#include "proxy/http/picohttpparser.h"

namespace arkroute::http {

namespace {

// More fields than this go to http-parser.
constexpr size_t kMaxSimpleFields = 64;
using FieldArray = std::array<phr_header, kMaxSimpleFields>;

// What the framing-relevant fields said.
struct Framing {
  bool has_length = false;
  uint64_t length = 0;
  bool close = false;       // Connection: close
  bool keep_alive = false;  // Connection: keep-alive
  bool has_host = false;
};

std::string_view trimBlanks(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Digits, then optional trailing blanks (as http-parser accepts them); nothing else, no overflow.
bool parseLength(std::string_view text, uint64_t* out) {
  std::string_view digits = trimBlanks(text);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  return error == std::errc() && end == digits.data() + digits.size();
}

// Reads one field into framing. False when the field needs http-parser's handling. Names need no
// check of their own: picohttpparser refuses a line whose name is not an RFC 9110 token
// (SimpleHead.EveryNameThatIsNotATokenIsDeclined holds it to that).
bool noteField(std::string_view name, std::string_view value, bool request, Framing* framing) {
  if (name.empty()) return false;
  if (equalsIgnoreCase(name, "content-length")) {
    if (framing->has_length) return false;  // duplicates: http-parser decides
    framing->has_length = true;
    return parseLength(value, &framing->length);
  }
  if (equalsIgnoreCase(name, "connection")) {
    if (framing->close || framing->keep_alive) return false;  // several: http-parser decides
    std::string_view token = trimBlanks(value);
    if (equalsIgnoreCase(token, "close")) {
      framing->close = true;
    } else if (equalsIgnoreCase(token, "keep-alive")) {
      framing->keep_alive = true;
    } else {
      return false;  // a token list: http-parser reads it
    }
    return true;
  }
  if (equalsIgnoreCase(name, "transfer-encoding")) return false;
  if (request && equalsIgnoreCase(name, "host")) {
    if (framing->has_host) return false;  // two: refused by the full parser's path
    framing->has_host = true;
  }
  if (request && (equalsIgnoreCase(name, "expect") || equalsIgnoreCase(name, "upgrade"))) {
    return false;
  }
  return true;
}

bool collectFields(const FieldArray& fields, size_t count, bool request, Framing* framing,
                   Headers* headers) {
  headers->clear();
  for (size_t i = 0; i < count; ++i) {
    const phr_header& field = fields[i];
    if (field.name == nullptr) return false;  // obsolete line folding
    std::string_view name(field.name, field.name_len);
    std::string_view value(field.value, field.value_len);
    if (!noteField(name, value, request, framing)) return false;
    headers->add(name, value);
  }
  return true;
}

// What both kinds of head share, once the fields are read.
void fillHead(int parsed, int minor, const Framing& framing, SimpleHead* out) {
  *out = SimpleHead{};
  out->head_bytes = static_cast<size_t>(parsed);
  out->version_minor = minor;
  out->has_content_length = framing.has_length;
  out->content_length = framing.length;
}

bool knownMethod(std::string_view method) {
  for (std::string_view known : {"POST", "GET", "HEAD", "DELETE", "PUT", "OPTIONS", "PATCH"}) {
    if (method == known) return true;
  }
  return false;
}

}  // namespace

bool parseSimpleResponseHead(std::string_view data, size_t max_head_bytes, SimpleHead* out,
                             Headers* headers) {
  FieldArray fields;
  size_t count = fields.size();
  int minor = 0;
  int status = 0;
  const char* reason = nullptr;
  size_t reason_length = 0;
  size_t length = std::min(data.size(), max_head_bytes);
  int parsed = phr_parse_response(data.data(), length, &minor, &status, &reason, &reason_length,
                                  fields.data(), &count, 0);
  if (parsed <= 0 || status < 200 || status > 599 || status == 204 || status == 304) return false;
  Framing framing;
  if (!collectFields(fields, count, false, &framing, headers) || !framing.has_length) {
    headers->clear();
    return false;
  }
  fillHead(parsed, minor, framing, out);
  out->status = status;
  out->keep_alive = minor >= 1 && !framing.close;
  return true;
}

bool parseSimpleRequestHead(std::string_view data, size_t max_head_bytes, SimpleHead* out,
                            Headers* headers) {
  FieldArray fields;
  size_t count = fields.size();
  int minor = 0;
  const char* method = nullptr;
  size_t method_length = 0;
  const char* target = nullptr;
  size_t target_length = 0;
  size_t length = std::min(data.size(), max_head_bytes);
  int parsed = phr_parse_request(data.data(), length, &method, &method_length, &target,
                                 &target_length, &minor, fields.data(), &count, 0);
  if (parsed <= 0 || target_length == 0 || !knownMethod({method, method_length})) return false;
  Framing framing;
  if (!collectFields(fields, count, true, &framing, headers)) {
    headers->clear();
    return false;
  }
  if (minor >= 1 && !framing.has_host) {  // refused by the full parser's path (RFC 9112 3.2)
    headers->clear();
    return false;
  }
  fillHead(parsed, minor, framing, out);
  out->method = {method, method_length};
  out->target = {target, target_length};
  out->keep_alive = minor >= 1 ? !framing.close : framing.keep_alive && !framing.close;
  return true;
}

}  // namespace arkroute::http
