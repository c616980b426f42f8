// Request ids and JSON/error responses.
#include "proxy/responses.h"

#include <simdjson.h>

#include <random>

#include "proxy/json_text.h"

namespace arkroute {

namespace {

bool isSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::string newRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  char id[28] = {'r', 'e', 'q', '_'};
  char* out = id + 4;
  for (int part = 0; part < 2; ++part) {
    uint64_t bits = rng();
    for (int i = 0; i < 12; ++i, bits >>= 4) *out++ = kHex[bits & 0xf];
  }
  return std::string(id, sizeof id);
}

}  // namespace

std::string requestIdFor(const http::Request& request) {
  std::string_view given = request.headers.get("x-request-id");
  return isSaneRequestId(given) ? std::string(given) : newRequestId();
}

void sendJson(http::Exchange& exchange, int status, std::string_view body,
              std::string_view request_id, http::Headers headers) {
  headers.set("Content-Type", "application/json");
  headers.set("x-request-id", std::string(request_id));
  exchange.respond(status, headers, body);
}

void sendJsonValue(http::Exchange& exchange, int status, const nlohmann::json& value,
                   std::string_view request_id) {
  sendJson(exchange, status, json_text::dump(value), request_id);
}

void sendError(http::Exchange& exchange, const ApiError& error, std::string_view request_id,
               http::Headers headers) {
  if (error.no_retry) headers.set("x-should-retry", "false");
  exchange.noteErrorCode(error.code.value_or(error.type));
  sendJson(exchange, error.status, error.toJson(), request_id, std::move(headers));
}

void answerInternalError(http::Exchange& exchange, std::string_view request_id,
                         std::string_view what) {
  http::writeErrorLine("arkroute: internal error on " + exchange.request().method + " " +
                       exchange.request().path + " (request " + std::string(request_id) +
                       "): " + std::string(what));
  if (exchange.finished()) return;
  if (exchange.responseStarted()) {
    exchange.abort();  // the client sees a cut answer, never a complete-looking wrong one
    return;
  }
  sendError(exchange,
            ApiError::internal("The gateway failed to handle this request (an internal error, "
                               "logged with its request id). Other requests are unaffected."),
            request_id);
}

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view raw) {
  std::string value;
  for (size_t i = 0; i < raw.size(); ++i) {
    bool escape = raw[i] == '%' && i + 2 < raw.size() && hexValue(raw[i + 1]) >= 0 &&
                  hexValue(raw[i + 2]) >= 0;
    if (escape) {
      value.push_back(static_cast<char>(hexValue(raw[i + 1]) * 16 + hexValue(raw[i + 2])));
      i += 2;
    } else {
      value.push_back(raw[i] == '+' ? ' ' : raw[i]);
    }
  }
  return value;
}

}  // namespace

std::optional<std::string> queryParam(std::string_view query, std::string_view name) {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start, end - start);
    if (pair.starts_with(name) && pair.size() > name.size() && pair[name.size()] == '=') {
      return percentDecode(pair.substr(name.size() + 1));
    }
    start = end + 1;
  }
  return std::nullopt;
}

bool readTextParam(http::Exchange& exchange, std::string_view name, std::string_view request_id,
                   std::optional<std::string>* value) {
  *value = queryParam(exchange.request().query, name);
  if (!*value || simdjson::validate_utf8((*value)->data(), (*value)->size())) return true;
  std::string param(name);
  sendError(exchange, ApiError::invalidValue("'" + param + "' must be UTF-8 text.", param),
            request_id);
  return false;
}

}  // namespace arkroute
