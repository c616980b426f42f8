// Checks on a request head that the parser does not make: the origin form of a target, what RFC
// 9112 makes a server refuse, and what the lenient http-parser build lets through.
#include "proxy/http/server_request_checks.h"

#include <cctype>

namespace arkroute::http {

// The path and query of a request target: "http://host:8080/v1/models?x" (absolute form, which
// RFC 9112 3.2.2 has a server accept) gives "/v1/models?x"; origin form ("/v1/models") is itself.
std::string_view originForm(std::string_view target) {
  if (target.empty() || target.front() == '/') return target;
  size_t scheme_end = target.find("://");
  std::string_view scheme = target.substr(0, scheme_end);
  if (scheme_end == std::string_view::npos ||
      !(equalsIgnoreCase(scheme, "http") || equalsIgnoreCase(scheme, "https"))) {
    return target;  // "*" (OPTIONS), or not a URL: left as it is (no route has it)
  }
  size_t path = target.find_first_of("/?", scheme_end + 3);
  if (path == std::string_view::npos) return "/";
  return target[path] == '/' ? target.substr(path) : std::string_view();
}

// What RFC 9112 makes a server refuse in a head the parser took: an HTTP/1.1 request without
// exactly one Host (3.2), and a transfer coding other than chunked alone (6.1: 501), which the
// parser would read as chunked ("gzip, chunked") while the body is still gzip.
HeadRefusal headRefusal(const Request& r) {
  int hosts = 0;
  for (const auto& [name, value] : r.headers) hosts += equalsIgnoreCase(name, "host") ? 1 : 0;
  if (hosts > 1 || (hosts == 0 && r.version_minor >= 1)) {
    return std::pair{400, std::string("Malformed HTTP request: a request of HTTP version 1.1 "
                                      "needs exactly one Host header")};
  }
  for (const auto& [name, value] : r.headers) {
    if (!equalsIgnoreCase(name, "transfer-encoding")) continue;
    std::string_view coding = trimOws(value);
    if (!equalsIgnoreCase(coding, "chunked")) {
      return std::pair{501, "Transfer-Encoding '" + std::string(value) +
                                "' is not supported: send the body with Content-Length or "
                                "Transfer-Encoding: chunked"};
    }
  }
  return std::nullopt;
}

// What this http-parser build lets through on the slow path's request line (its strict checks are
// off): a version that is not "HTTP/1.0" or "HTTP/1.1" ("HTTX/1.1" reads as 1.1; 505 for another
// version number), and a control character (a tab) inside the target.
HeadRefusal requestLineRefusal(std::string_view line, std::string_view target) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view version = line.substr(line.rfind(' ') + 1);
  bool numbered = version.size() == 8 && version.starts_with("HTTP/") &&
                  std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
                  std::isdigit(static_cast<unsigned char>(version[7]));
  if (!numbered) {
    // Not "HTTP/1.1 " with a space in the text: a client scanning for status lines would see one.
    return std::pair{400, std::string("Malformed HTTP request: the request line does not end "
                                      "with the version HTTP/1.0 or HTTP/1.1")};
  }
  if (version[5] != '1') {  // HTTP/1.x of a higher minor is read as 1.1 (RFC 9110 2.5), as the
                            // fast path reads it
    return std::pair{
        505, "HTTP version " + std::string(version.substr(5)) + " is not supported: send HTTP/1.1"};
  }
  for (char byte : target) {
    if (isControlByte(byte) || byte == '\t') {
      return std::pair{400, std::string("Malformed HTTP request: the request target contains "
                                        "a control character")};
    }
  }
  return std::nullopt;
}

}  // namespace arkroute::http
