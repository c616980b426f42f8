// Request serialisation for the upstream client (see upstream_request.h).
#include "proxy/http/upstream_request.h"

#include <charconv>

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

void appendRequestHead(std::string_view host, const OutgoingRequest& request, std::string* out) {
  std::string& head = *out;
  head.append(request.method).append(" ").append(request.path).append(" HTTP/1.1\r\nHost: ");
  head.append(host).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    if (ownedByPool(name)) continue;
    head.append(name).append(": ").append(value).append("\r\n");
  }
  char length[24];
  auto [end, ec] = std::to_chars(length, length + sizeof length, request.bodyView().size());
  head.append("Content-Length: ").append(length, end).append("\r\n\r\n");
}

}  // namespace arkroute::http
