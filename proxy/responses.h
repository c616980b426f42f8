// Small helpers shared by every endpoint: request ids, JSON responses and OpenAI-style errors,
// each with Content-Type: application/json and the x-request-id header.
#pragma once

#include <exception>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/api_error.h"
#include "proxy/http/error_line.h"
#include "proxy/http/server.h"

namespace arkroute {

// The client's x-request-id when it is sane (1–128 visible ASCII chars), else a new "req_<hex>".
std::string requestIdFor(const http::Request& request);

void sendJson(http::Exchange& exchange, int status, std::string_view body,
              std::string_view request_id, http::Headers headers = {});
// The same for a JSON value, written by json_text::dump: bytes that are not UTF-8 (a name from a
// query or the command line) are replaced, never thrown on as nlohmann's own dump does.
void sendJsonValue(http::Exchange& exchange, int status, const nlohmann::json& value,
                   std::string_view request_id);
void sendError(http::Exchange& exchange, const ApiError& error, std::string_view request_id,
               http::Headers headers = {});

// Logs what a failed request handler threw and answers the client (see answerInternalErrors).
void answerInternalError(http::Exchange& exchange, std::string_view request_id,
                         std::string_view what);

// Runs handle(), the handling of one request. Should it throw (a bug: a library call that throws
// on input nothing checked, say), the error is logged and the client answered 500, or cut off when
// its answer had begun: one request must not end the gateway and every request in flight with it.
template <class Handle>
void answerInternalErrors(http::Exchange& exchange, std::string_view request_id, Handle&& handle) {
  try {
    handle();
  } catch (...) {  // a std::exception or not: the worker's loop must not see it
    answerInternalError(exchange, request_id, http::exceptionText(std::current_exception()));
  }
}

// "model=a%20b&x=1" → the percent-decoded value of `name`, or nullopt when absent.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);
// queryParam of the request for a value that must be text (a model or key name): true with
// *value set (nullopt when absent), or false once a 400 naming it has been sent because its
// decoded bytes are not UTF-8 ("%FF"), which no name can be and no JSON answer can carry.
bool readTextParam(http::Exchange& exchange, std::string_view name, std::string_view request_id,
                   std::optional<std::string>* value);

}  // namespace arkroute
