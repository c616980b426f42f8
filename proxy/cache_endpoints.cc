// Cached image serving and cache administration.
#include "proxy/cache_endpoints.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "cache/cache_store.h"
#include "cache/coalescer.h"
#include "proxy/image_response.h"
#include "proxy/responses.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {

bool cacheDisabled(Worker& worker, http::Exchange& exchange, const std::string& request_id) {
  if (worker.services().store) return false;
  sendError(exchange,
            ApiError::notFound("The cache is disabled ([cache] enabled = false).",
                               std::string("cache_disabled")),
            request_id);
  return true;
}

}  // namespace

bool authorizeAdmin(Worker& worker, http::Exchange& exchange, const std::string& request_id) {
  const std::string& token = worker.runtime().config().auth.admin_token;
  if (token.empty()) {
    sendError(exchange,
              ApiError::notFound("The admin API is disabled: set the environment variable named "
                                 "by auth.admin_token_env to enable it.",
                                 std::string("admin_disabled")),
              request_id);
    return false;
  }
  std::string expected = "Bearer " + token;
  std::string_view given = exchange.request().headers.get("authorization");
  bool ok = given.size() == expected.size() &&
            CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
  if (!ok) {
    ApiError error{401,
                   "Invalid or missing admin token (Authorization: Bearer <token>).",
                   "invalid_request_error",
                   std::nullopt,
                   std::string("invalid_api_key"),
                   ErrorSource::kClient};
    http::Headers headers;
    headers.set("WWW-Authenticate", "Bearer");
    sendError(exchange, error, request_id, std::move(headers));
  }
  return ok;
}

void handleCachedImage(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                       std::string request_id) {
  if (cacheDisabled(worker, *exchange, request_id)) return;
  std::string_view path = exchange->request().path;
  std::string_view id = path.substr(std::string_view("/v1/images/cache/").size());
  size_t dash = id.rfind('-');
  auto digest = cache::CacheKey::parseHex(id.substr(0, dash));
  size_t index = 0;
  bool index_ok = dash != std::string_view::npos && dash + 1 < id.size();
  for (size_t i = dash + 1; index_ok && i < id.size(); ++i) {
    index_ok = std::isdigit(static_cast<unsigned char>(id[i])) && index < 100;
    index = index * 10 + static_cast<size_t>(id[i] - '0');
  }
  std::optional<std::string> bytes;
  if (digest && index_ok) {
    auto found = worker.services().store->lookupByDigest(*digest, worker.services().now_ms());
    if (found.entry) bytes = imageBytes(found.entry->body, index);
  }
  if (!bytes) {
    sendError(*exchange,
              ApiError::notFound("No cached image with id '" + std::string(id) +
                                     "' (it may have expired or been purged).",
                                 std::string("image_not_found")),
              request_id);
    return;
  }
  std::string etag = std::string("\"").append(id).append("\"");
  http::Headers headers;
  headers.set("ETag", etag);
  headers.set("Cache-Control", "public, max-age=31536000, immutable");
  headers.set("x-request-id", request_id);
  if (exchange->request().headers.get("if-none-match") == etag) {
    exchange->respond(304, headers, "");
    return;
  }
  headers.set("Content-Type", std::string(detectImageType(*bytes)));
  exchange->respond(200, headers, *bytes);
}

void handleAdminCachePurge(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                           std::string request_id) {
  if (!authorizeAdmin(worker, *exchange, request_id)) return;
  if (cacheDisabled(worker, *exchange, request_id)) return;
  auto model = queryParam(exchange->request().query, "model");
  uint64_t removed = worker.services().store->purge(model);
  nlohmann::json body = {{"purged", removed}};
  body["model"] = model ? nlohmann::json(*model) : nlohmann::json(nullptr);
  sendJson(*exchange, 200, body.dump(), request_id);
}

void handleAdminCacheStats(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                           std::string request_id) {
  if (!authorizeAdmin(worker, *exchange, request_id)) return;
  if (cacheDisabled(worker, *exchange, request_id)) return;
  cache::CacheStats stats = worker.services().store->stats();
  cache::Coalescer::Stats coalescing = worker.services().coalescer->stats();
  nlohmann::json body = {{"entries", stats.entries},
                         {"bytes", stats.bytes},
                         {"hits", stats.hits},
                         {"misses", stats.misses},
                         {"coalesced", coalescing.coalesced},
                         {"evictions", stats.evictions},
                         {"expired", stats.expired},
                         {"corrupt", stats.corrupt},
                         {"dropped_writes", stats.dropped_writes},
                         {"takeovers", coalescing.takeovers}};
  sendJson(*exchange, 200, body.dump(), request_id);
}

}  // namespace arkroute
