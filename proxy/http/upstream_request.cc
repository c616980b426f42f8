// Request serialisation for the upstream client (see upstream_request.h).
#include "proxy/http/upstream_request.h"

#include <charconv>

#include "proxy/http/piece_writer.h"

namespace arkroute::http {

namespace {

bool ownedByPool(std::string_view name) {
  return equalsIgnoreCase(name, "host") || equalsIgnoreCase(name, "content-length") ||
         equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "transfer-encoding");
}

}  // namespace

std::string hostHeaderValue(const UpstreamEndpoint& endpoint) {
  bool ipv6 = endpoint.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + endpoint.host + "]" : endpoint.host;
  uint16_t default_port = endpoint.tls ? 443 : 80;
  if (endpoint.port == default_port) return host;
  return host + ":" + std::to_string(endpoint.port);
}

// Sized first, then copied piece by piece into the string grown once: an append per piece was an
// out-of-line call each (four per field).
void appendRequestHead(std::string_view host, const OutgoingRequest& request, std::string* out) {
  char digits[24];
  auto converted = std::to_chars(digits, digits + sizeof digits, request.bodyView().size());
  std::string_view length(digits, static_cast<size_t>(converted.ptr - digits));
  constexpr std::string_view kVersionAndHost = " HTTP/1.1\r\nHost: ";
  constexpr std::string_view kLengthName = "\r\nContent-Length: ";
  size_t size = request.method.size() + 1 + request.path.size() + kVersionAndHost.size() +
                host.size() + kLengthName.size() + length.size() + 4;
  for (const auto& [name, value] : request.headers) {
    if (!ownedByPool(name)) size += name.size() + 2 + value.size() + 2;
  }
  size_t start = out->size();
  out->resize(start + size);
  PieceWriter head(out->data() + start);
  head.put(request.method).put(" ").put(request.path).put(kVersionAndHost).put(host);
  for (const auto& [name, value] : request.headers) {
    if (!ownedByPool(name)) head.put("\r\n").put(name).put(": ").put(value);
  }
  head.put(kLengthName).put(length).put("\r\n\r\n");
}

}  // namespace arkroute::http
