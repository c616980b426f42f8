// Streamable HTTP rules → status codes, and JSON-RPC method dispatch.
#include "proxy/mcp/mcp_http.h"

#include <algorithm>
#include <cctype>

#include "proxy/json_text.h"

namespace arkroute::mcp {

namespace {

constexpr int kSessionNotFound = -32001;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The media type of a Content-Type value or Accept range, without parameters, lower-cased.
std::string mediaType(std::string_view value) {
  return lower(http::trimOws(value.substr(0, value.find(';'))));
}

bool acceptsJson(std::optional<std::string_view> accept) {
  if (!accept) return true;  // no Accept header: anything is acceptable
  std::string_view rest = *accept;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string type = mediaType(rest.substr(0, comma));
    if (type == "application/json" || type == "application/*" || type == "*/*") return true;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return false;
}

void sendBody(http::Exchange& exchange, int status, const nlohmann::json& body,
              const std::string& request_id, http::Headers headers = {}) {
  headers.set("Content-Type", "application/json");
  headers.set("Cache-Control", "no-store");
  headers.set("x-request-id", request_id);
  exchange.respond(status, headers, json_text::dump(body));  // images inside: not nlohmann's dump
}

void sendReject(http::Exchange& exchange, int status, int code, const std::string& message,
                const std::string& request_id, http::Headers headers = {}) {
  sendBody(exchange, status, makeError(nullptr, code, message), request_id, std::move(headers));
}

void sendEmpty(http::Exchange& exchange, int status, const std::string& request_id,
               http::Headers headers = {}) {
  headers.set("x-request-id", request_id);
  exchange.respond(status, headers, "");
}

}  // namespace

std::string normalizeOrigin(std::string_view origin) {
  std::string text = lower(http::trimOws(origin));
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0) return "";
  std::string scheme = text.substr(0, scheme_end);
  std::string authority = text.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (authority.empty()) return "";
  if (scheme == "http" && authority.ends_with(":80")) authority.resize(authority.size() - 3);
  if (scheme == "https" && authority.ends_with(":443")) authority.resize(authority.size() - 4);
  return scheme + "://" + authority;
}

bool isSupportedVersion(std::string_view version) {
  return std::any_of(std::begin(kSupportedVersions), std::end(kSupportedVersions),
                     [&](const char* supported) { return version == supported; });
}

std::string negotiateVersion(std::string_view requested) {
  return isSupportedVersion(requested) ? std::string(requested) : kSupportedVersions[0];
}

McpHttpHandler::McpHttpHandler(McpHttpOptions options, McpSessions& sessions, McpBackend& backend)
    : options_(std::move(options)),
      sessions_(sessions),
      backend_(backend),
      tools_(backend, options_.default_model) {
  for (std::string& origin : options_.allowed_origins) {
    if (origin != "*") origin = normalizeOrigin(origin);
  }
}

void McpHttpHandler::handle(const std::shared_ptr<http::Exchange>& exchange,
                            const std::string& request_id) {
  const std::string& method = exchange->request().method;
  if (method == "POST") return handlePost(exchange, request_id);
  if (method == "DELETE") return handleDelete(*exchange, request_id);
  if (method == "OPTIONS") return answerPreflight(*exchange, request_id);
  http::Headers headers;
  headers.set("Allow", "POST, DELETE, OPTIONS");
  sendReject(*exchange, 405, rpc::kServerError,
             "Method Not Allowed: this MCP endpoint takes POST (JSON-RPC messages) and DELETE "
             "(end a session); it offers no SSE stream",
             request_id, std::move(headers));
}

bool McpHttpHandler::originAllowed(std::string_view origin) const {
  const auto& allowed = options_.allowed_origins;
  std::string normalized = normalizeOrigin(origin);
  return std::find(allowed.begin(), allowed.end(), "*") != allowed.end() ||
         (!normalized.empty() &&
          std::find(allowed.begin(), allowed.end(), normalized) != allowed.end());
}

http::Headers McpHttpHandler::corsFor(const http::Exchange& exchange) const {
  http::Headers headers;
  auto origin = exchange.request().headers.find("Origin");
  if (!origin || !originAllowed(*origin)) return headers;
  headers.set("Access-Control-Allow-Origin", *origin);
  headers.set("Access-Control-Expose-Headers", "Mcp-Session-Id, x-request-id");
  headers.set("Vary", "Origin");
  return headers;
}

// A browser asks before a cross-origin POST with JSON or an Authorization header (CORS
// preflight): an allowed Origin is told the methods and headers it may use; another is refused.
void McpHttpHandler::answerPreflight(http::Exchange& exchange, const std::string& request_id) {
  auto origin = exchange.request().headers.find("Origin");
  if (origin && !originAllowed(*origin)) {
    return sendReject(exchange, 403, rpc::kServerError,
                      "Forbidden: Origin '" + std::string(*origin) +
                          "' is not allowed (add it to [mcp] allowed_origins)",
                      request_id);
  }
  http::Headers headers = corsFor(exchange);
  headers.set("Allow", "POST, DELETE, OPTIONS");
  if (origin) {
    headers.set("Access-Control-Allow-Methods", "POST, DELETE");
    headers.set("Access-Control-Allow-Headers",
                "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version");
    headers.set("Access-Control-Max-Age", "600");
  }
  sendEmpty(exchange, 204, request_id, std::move(headers));
}

bool McpHttpHandler::admitted(http::Exchange& exchange, const std::string& request_id,
                              const std::string& authorization) {
  if (auto origin = exchange.request().headers.find("Origin")) {
    if (!originAllowed(*origin)) {
      sendReject(exchange, 403, rpc::kServerError,
                 "Forbidden: Origin '" + std::string(*origin) +
                     "' is not allowed (add it to [mcp] allowed_origins)",
                 request_id);
      return false;
    }
  }
  std::string refusal = backend_.authenticate(authorization);
  if (!refusal.empty()) {
    http::Headers headers = corsFor(exchange);
    headers.set("WWW-Authenticate", "Bearer");
    sendReject(exchange, 401, rpc::kServerError, refusal, request_id, std::move(headers));
    return false;
  }
  return true;
}

void McpHttpHandler::handlePost(const std::shared_ptr<http::Exchange>& exchange,
                                const std::string& request_id) {
  const http::Request& request = exchange->request();
  std::string authorization(request.headers.get("Authorization"));
  if (!admitted(*exchange, request_id, authorization)) return;
  if (!acceptsJson(request.headers.find("Accept"))) {
    return sendReject(*exchange, 406, rpc::kServerError,
                      "Not Acceptable: the client must accept application/json", request_id,
                      corsFor(*exchange));
  }
  if (mediaType(request.headers.get("Content-Type")) != "application/json") {
    return sendReject(*exchange, 415, rpc::kServerError,
                      "Unsupported Media Type: Content-Type must be application/json", request_id,
                      corsFor(*exchange));
  }
  auto version = request.headers.find("MCP-Protocol-Version");
  if (version && !isSupportedVersion(http::trimOws(*version))) {
    return sendReject(*exchange, 400, rpc::kServerError,
                      "Bad Request: unsupported MCP-Protocol-Version '" + std::string(*version) +
                          "' (supported: 2025-11-25, 2025-06-18, 2025-03-26)",
                      request_id, corsFor(*exchange));
  }
  ParsedMessage parsed = parseMessage(request.body);
  if (parsed.error) {
    return sendBody(*exchange, 400,
                    makeError(parsed.error->id, parsed.error->code, parsed.error->message),
                    request_id, corsFor(*exchange));
  }
  const JsonRpcMessage& message = *parsed.message;
  if (message.kind == MessageKind::kRequest && message.method == "initialize") {
    return initialize(*exchange, request_id, message, authorization);
  }
  auto session = request.headers.find("Mcp-Session-Id");
  if (!session || session->empty()) {
    return sendBody(*exchange, 400,
                    makeError(message.id, rpc::kServerError,
                              "Bad Request: Mcp-Session-Id header is required (send initialize "
                              "first)"),
                    request_id, corsFor(*exchange));
  }
  if (!sessions_.touch(std::string(*session), authorization)) {
    return sendBody(*exchange, 404,
                    makeError(message.id, kSessionNotFound,
                              "Session not found: it expired or was ended; send initialize again"),
                    request_id, corsFor(*exchange));
  }
  if (message.kind != MessageKind::kRequest)
    return sendEmpty(*exchange, 202, request_id, corsFor(*exchange));
  dispatch(exchange, request_id, message, authorization);
}

void McpHttpHandler::initialize(http::Exchange& exchange, const std::string& request_id,
                                const JsonRpcMessage& message, const std::string& authorization) {
  std::string requested;
  if (message.params.is_object() && message.params.contains("protocolVersion") &&
      message.params["protocolVersion"].is_string()) {
    requested = message.params["protocolVersion"].get<std::string>();
  }
  std::string version = negotiateVersion(requested);
  std::optional<std::string> session = sessions_.create(version, authorization);
  if (!session) {
    return sendBody(exchange, 503,
                    makeError(message.id, rpc::kServerError,
                              "Too many open MCP sessions on this gateway ([mcp] max_sessions): "
                              "try again later, or end unused sessions (DELETE /mcp)"),
                    request_id, corsFor(exchange));
  }
  nlohmann::json result = {
      {"protocolVersion", version},
      {"capabilities", {{"tools", {{"listChanged", false}}}}},
      {"serverInfo",
       {{"name", "arkroute"},
        {"title", "ArkRoute image gateway"},
        {"version", options_.server_version}}},
      {"instructions",
       "ArkRoute generates images through the providers configured on this gateway. Call "
       "list_models to see models and prices, estimate_cost before generating, and "
       "generate_image to create images. Identical requests are served from the cache for "
       "free."}};
  http::Headers headers = corsFor(exchange);
  headers.set("Mcp-Session-Id", *session);
  sendBody(exchange, 200, makeResult(message.id, std::move(result)), request_id,
           std::move(headers));
}

void McpHttpHandler::dispatch(const std::shared_ptr<http::Exchange>& exchange,
                              const std::string& request_id, const JsonRpcMessage& message,
                              const std::string& authorization) {
  if (message.method == "ping") {
    return sendBody(*exchange, 200, makeResult(message.id, nlohmann::json::object()), request_id,
                    corsFor(*exchange));
  }
  if (message.method == "tools/list") {
    return sendBody(*exchange, 200, makeResult(message.id, {{"tools", tools_.list(authorization)}}),
                    request_id, corsFor(*exchange));
  }
  if (message.method == "tools/call") return callTool(exchange, request_id, message, authorization);
  sendBody(*exchange, 200,
           makeError(message.id, rpc::kMethodNotFound, "Method not found: " + message.method),
           request_id, corsFor(*exchange));
}

void McpHttpHandler::callTool(const std::shared_ptr<http::Exchange>& exchange,
                              const std::string& request_id, const JsonRpcMessage& message,
                              const std::string& authorization) {
  const nlohmann::json& params = message.params;
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    return sendBody(*exchange, 200,
                    makeError(message.id, rpc::kInvalidParams,
                              "Invalid params: tools/call needs a \"name\" string"),
                    request_id, corsFor(*exchange));
  }
  nlohmann::json arguments = params.contains("arguments") && !params["arguments"].is_null()
                                 ? params["arguments"]
                                 : nlohmann::json::object();
  // The sessions outlive every call: the gateway stops its workers before it frees them.
  std::string session(exchange->request().headers.get("Mcp-Session-Id"));
  sessions_.beginCall(session);
  tools_.call(params["name"].get<std::string>(), arguments, authorization,
              [exchange, request_id, id = message.id, cors = corsFor(*exchange),
               sessions = &sessions_, session](ToolOutcome outcome) {
                sessions->endCall(session);
                nlohmann::json body = outcome.error_code != 0
                                          ? makeError(id, outcome.error_code, outcome.error_message)
                                          : makeResult(id, std::move(outcome.result));
                sendBody(*exchange, 200, body, request_id, cors);
              });
}

void McpHttpHandler::handleDelete(http::Exchange& exchange, const std::string& request_id) {
  const http::Request& request = exchange.request();
  std::string authorization(request.headers.get("Authorization"));
  if (!admitted(exchange, request_id, authorization)) return;
  auto session = request.headers.find("Mcp-Session-Id");
  if (!session || session->empty()) {
    return sendReject(exchange, 400, rpc::kServerError,
                      "Bad Request: DELETE needs the Mcp-Session-Id header of the session to end",
                      request_id, corsFor(exchange));
  }
  if (!sessions_.remove(std::string(*session), authorization)) {
    return sendReject(exchange, 404, kSessionNotFound, "Session not found", request_id,
                      corsFor(exchange));
  }
  sendEmpty(exchange, 200, request_id, corsFor(exchange));
}

}  // namespace arkroute::mcp
