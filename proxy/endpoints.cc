// Endpoint table and the small endpoints (models list, health).
#include "proxy/endpoints.h"

#include <nlohmann/json.hpp>

#include "proxy/cache_endpoints.h"
#include "proxy/generation_handler.h"
#include "proxy/mcp_service.h"
#include "proxy/metrics_endpoint.h"
#include "proxy/money_endpoints.h"
#include "proxy/request_tracking.h"
#include "proxy/responses.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {

using Handler = void (*)(Worker&, std::shared_ptr<http::Exchange>, std::string request_id);

struct Endpoint {
  std::string_view method;
  std::string_view path;  // a trailing '*' matches any suffix
  Handler handler;
};

bool pathMatches(std::string_view pattern, std::string_view path) {
  if (pattern.ends_with('*')) return path.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == path;
}

void handleHealth(Worker&, std::shared_ptr<http::Exchange> exchange, std::string request_id) {
  sendJson(*exchange, 200, R"({"status":"ok"})", request_id);
}

// With auth.mode = "keys" the list needs a key, as every request does, and names only the
// models that key may use.
void handleModels(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                  std::string request_id) {
  std::optional<VirtualKey> key;
  if (!readCallerKey(worker, *exchange, request_id, &key)) return;
  nlohmann::json data = nlohmann::json::array();
  for (const ModelConfig& model : worker.runtime().config().models) {
    if (key && !key->allowsModel(model.name)) continue;
    data.push_back(
        {{"id", model.name}, {"object", "model"}, {"created", 0}, {"owned_by", model.upstream}});
  }
  nlohmann::json body = {{"object", "list"}, {"data", std::move(data)}};
  sendJsonValue(*exchange, 200, body, request_id);
}

void handleGeneration(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                      std::string request_id) {
  GenerationHandler::start(worker, std::move(exchange), std::move(request_id));
}

// POST /mcp carries JSON-RPC, DELETE ends a session, OPTIONS is a browser's preflight, GET gets
// the transport's 405 (the handler answers every method itself); 404 as for any unknown URL when
// [mcp] enabled = false.
void handleMcp(Worker& worker, std::shared_ptr<http::Exchange> exchange, std::string request_id) {
  McpService* mcp = worker.mcp();
  if (!mcp) {
    sendError(*exchange,
              ApiError::notFound("The MCP endpoint is disabled ([mcp] enabled = false).",
                                 std::string("unknown_url")),
              request_id);
    return;
  }
  mcp->handle(exchange, request_id);
}

constexpr Endpoint kEndpoints[] = {
    {"GET", "/healthz", handleHealth},
    {"GET", "/metrics", handleMetrics},
    {"GET", "/v1/models", handleModels},
    {"POST", "/v1/images/generations", handleGeneration},
    {"POST", kEditsPath, handleGeneration},
    {"GET", "/v1/images/cache/*", handleCachedImage},
    {"DELETE", "/admin/cache", handleAdminCachePurge},
    {"GET", "/admin/cache/stats", handleAdminCacheStats},
    {"GET", "/v1/usage", handleUsage},
    {"GET", "/admin/usage", handleAdminUsage},
    {"POST", "/admin/keys", handleAdminKeyCreate},
    {"GET", "/admin/keys", handleAdminKeyList},
    {"DELETE", "/admin/keys/*", handleAdminKeyRevoke},
    {"POST", "/mcp", handleMcp},
    {"DELETE", "/mcp", handleMcp},
    {"GET", "/mcp", handleMcp},
    {"OPTIONS", "/mcp", handleMcp},  // a browser's CORS preflight
};

}  // namespace

void dispatchRequest(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                     std::string request_id) {
  const http::Request& request = exchange->request();
  std::string allowed;
  for (const Endpoint& endpoint : kEndpoints) {
    if (!pathMatches(endpoint.path, request.path)) continue;
    bool head_as_get = request.method == "HEAD" && endpoint.method == "GET";
    if (endpoint.method == request.method || head_as_get) {
      trackRequest(worker, *exchange, request_id, endpoint.handler == handleGeneration);
      endpoint.handler(worker, std::move(exchange), std::move(request_id));
      return;
    }
    allowed += allowed.empty() ? std::string(endpoint.method) : ", " + std::string(endpoint.method);
  }
  trackRequest(worker, *exchange, request_id, false);
  if (!allowed.empty()) {
    http::Headers headers;
    headers.set("Allow", allowed);
    sendError(*exchange, ApiError::methodNotAllowed(request.method, request.path), request_id,
              std::move(headers));
    return;
  }
  sendError(*exchange,
            ApiError::notFound("Unknown request URL: " + request.method + " " + request.path +
                                   ". See the README for the endpoints this gateway serves.",
                               std::string("unknown_url")),
            request_id);
}

}  // namespace arkroute
