// Small helpers shared by every endpoint: request ids, JSON responses and OpenAI-style errors,
// each with Content-Type: application/json and the x-request-id header.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/api_error.h"
#include "proxy/http/server.h"

namespace arkroute {

// The client's x-request-id when it is sane (1–128 visible ASCII chars), else a new "req_<hex>".
std::string requestIdFor(const http::Request& request);

void sendJson(http::Exchange& exchange, int status, std::string_view body,
              std::string_view request_id, http::Headers headers = {});
void sendError(http::Exchange& exchange, const ApiError& error, std::string_view request_id,
               http::Headers headers = {});

// "model=a%20b&x=1" → the percent-decoded value of `name`, or nullopt when absent.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);
// queryParam of the request for a value that must be text (a model or key name): true with
// *value set (nullopt when absent), or false once a 400 naming it has been sent because its
// decoded bytes are not UTF-8 ("%FF"), which no name can be and no JSON answer can carry.
bool readTextParam(http::Exchange& exchange, std::string_view name, std::string_view request_id,
                   std::optional<std::string>* value);

}  // namespace arkroute
