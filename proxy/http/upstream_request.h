// Serialisation of requests to a provider: request line, Host, the caller's headers minus the ones
// the pool owns, and Content-Length (HTTP/1.1 connections persist without Connection: keep-alive).
#pragma once

#include <string>

#include "proxy/http/upstream.h"

namespace arkroute::http {

// "host" or "host:port" (IPv6 literals in brackets); the port is left out when it is the scheme's
// default (80 for http, 443 for https).
std::string hostHeaderValue(const UpstreamEndpoint& endpoint);

// Appends the request head, up to and including the blank line, to out. host is the Host value
// (hostHeaderValue, computed once per pool). The caller's Host, Content-Length, Connection and
// Transfer-Encoding fields are dropped: the pool sets those itself.
void appendRequestHead(std::string_view host, const OutgoingRequest& request, std::string* out);

}  // namespace arkroute::http
