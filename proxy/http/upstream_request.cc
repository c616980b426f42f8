// Request serialisation for the upstream client (see upstream_request.h).
#include "proxy/http/upstream_request.h"

namespace arkroute::http {

namespace {

bool ownedByPool(const std::string& name) {
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

std::string serializeRequestHead(const UpstreamEndpoint& endpoint, const OutgoingRequest& request) {
  std::string head;
  head.reserve(128 + request.path.size() + request.headers.size() * 48);
  head.append(request.method).append(" ").append(request.path).append(" HTTP/1.1\r\nHost: ");
  head.append(hostHeaderValue(endpoint)).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    if (ownedByPool(name)) continue;
    head.append(name).append(": ").append(value).append("\r\n");
  }
  head.append("Content-Length: ").append(std::to_string(request.body.size()));
  head.append("\r\n\r\n");  // HTTP/1.1 connections persist without "Connection: keep-alive"
  return head;
}

}  // namespace arkroute::http
