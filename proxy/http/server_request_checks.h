// Checks on a request head that the parser does not make (server_request_checks.cc): the target's
// origin form, what RFC 9112 makes a server refuse in a head, and what the lenient http-parser
// build lets through on its request line. A refusal is a status and the message for the client.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "proxy/http/server.h"

namespace arkroute::http {

using HeadRefusal = std::optional<std::pair<int, std::string>>;

// "http://host:8080/v1/models?x" gives "/v1/models?x"; an origin-form target is itself.
std::string_view originForm(std::string_view target);
// No or two Hosts in an HTTP/1.1 request (400), a transfer coding other than chunked (501).
HeadRefusal headRefusal(const Request& r);
// A request line not ending in HTTP/1.x (400; 505 for another major), a control byte in the target.
HeadRefusal requestLineRefusal(std::string_view line, std::string_view target);

}  // namespace arkroute::http
