// Serialisation of requests to a provider: request line, Host, the caller's headers minus the ones
// the pool owns, Content-Length and Connection: keep-alive.
#pragma once

#include <string>

#include "proxy/http/upstream.h"

namespace arkroute::http {

// "host" or "host:port" (IPv6 literals in brackets); the port is left out when it is the scheme's
// default (80 for http, 443 for https).
std::string hostHeaderValue(const UpstreamEndpoint& endpoint);

// The request head up to and including the blank line. The caller's Host, Content-Length,
// Connection and Transfer-Encoding fields are dropped: the pool sets those itself.
std::string serializeRequestHead(const UpstreamEndpoint& endpoint, const OutgoingRequest& request);

}  // namespace arkroute::http
