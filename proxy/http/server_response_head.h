// A response head written straight into the connection's output buffer: the status line, the
// fields, the connection's own framing lines, and the blank line, sized first and copied once.
#pragma once

#include <event2/buffer.h>

#include <string_view>

#include "proxy/http/headers.h"

namespace arkroute::http {

// True for the fields the connection writes itself (content-length, connection and
// transfer-encoding): whatever a handler's list says about them is left out of the head.
bool isFramingField(std::string_view name);

// The current time as an HTTP date ("Thu, 03 Dec 2026 18:23:25 GMT"), formatted once a second per
// thread: every answer the gateway makes itself carries it (RFC 9110 6.6.1).
std::string_view httpDateNow();

// Appends "HTTP/1.1 <status> <reason>", every field of headers but the framing ones, framing (its
// lines end with CRLF), and the blank line to out.
void writeResponseHead(evbuffer* out, int status, const Headers& headers, std::string_view framing);

}  // namespace arkroute::http
