// Cached image serving and cache administration.
#include "proxy/cache_endpoints.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "cache/cache_store.h"
#include "cache/coalescer.h"
#include "proxy/admin_client.h"
#include "proxy/cached_images.h"
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

// An id names bytes that never change: cached for a year.
void respondCachedImage(http::Exchange& exchange, const std::optional<CachedImage>& image,
                        const std::string& id, const std::string& request_id) {
  if (!image) {
    sendError(exchange,
              ApiError::notFound("No cached image with id '" + id +
                                     "' (it may have expired, been purged, or been generated "
                                     "again since this id was given).",
                                 std::string("image_not_found")),
              request_id);
    return;
  }
  std::string etag = std::string("\"").append(image->version_id).append("\"");
  http::Headers headers;
  headers.set("ETag", etag);
  headers.set("Cache-Control", "public, max-age=31536000, immutable");
  headers.set("x-request-id", request_id);
  if (exchange.request().headers.get("if-none-match") == etag) {
    exchange.respond(304, headers, "");
    return;
  }
  headers.set("Content-Type", std::string(detectImageType(image->bytes)));
  exchange.respond(200, headers, image->bytes);
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
  const http::Headers& headers = exchange.request().headers;
  std::string_view given = http::bearerToken(headers.get("authorization"));
  bool ok =
      given.size() == token.size() && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
  if (!ok) {
    ApiError error{401,
                   "Invalid or missing admin token (Authorization: Bearer <token>).",
                   "invalid_request_error",
                   std::nullopt,
                   std::string("invalid_api_key"),
                   ErrorSource::kClient};
    http::Headers answer_headers;
    answer_headers.set("WWW-Authenticate", "Bearer");
    sendError(exchange, error, request_id, std::move(answer_headers));
    return false;
  }
  auto meant = headers.find(kDatabaseHeader);
  const Services& services = worker.services();
  const std::string& kept = services.database_path;
  // The CLI may not follow the links the gateway does (the service's state directory): either
  // form of the path means this database.
  if (meant && *meant != kept && *meant != services.database_path_as_written) {
    std::string where =
        kept.empty() ? "keeps no database (cache.path is empty)" : "keeps its database at " + kept;
    sendError(exchange,
              ApiError{409,
                       "This gateway " + where + ", not at " + std::string(*meant) +
                           ": the request was meant for another gateway. Give the command --url "
                           "with the address of the gateway that holds that database.",
                       "invalid_request_error", std::nullopt, std::string("database_mismatch"),
                       ErrorSource::kClient},
              request_id);
    return false;
  }
  return true;
}

void handleCachedImage(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                       std::string request_id) {
  if (cacheDisabled(worker, *exchange, request_id)) return;
  std::string_view path = exchange->request().path;
  std::string id(path.substr(kCachedImagePath.size()));
  auto image = parseCachedImageId(id);
  if (!image) {
    respondCachedImage(*exchange, std::nullopt, id, request_id);
    return;
  }
  // The read (maybe from disk) and the base64 decoding run off the loop.
  worker.answerOffLoop(
      exchange, request_id,
      [store = worker.services().store, image = *image, now = worker.services().now_ms()] {
        return cachedImage(*store, image, now);
      },
      [id = std::move(id), request_id](http::Exchange& exchange,
                                       const std::optional<CachedImage>& found) {
        respondCachedImage(exchange, found, id, request_id);
      });
}

void handleAdminCachePurge(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                           std::string request_id) {
  if (!authorizeAdmin(worker, *exchange, request_id)) return;
  if (cacheDisabled(worker, *exchange, request_id)) return;
  std::optional<std::string> model;
  if (!readTextParam(*exchange, "model", request_id, &model)) return;
  worker.answerOffLoop(
      exchange, request_id,
      [store = worker.services().store, model] { return store->purge(model); },  // many deletes
      [model, request_id](http::Exchange& exchange, uint64_t removed) {
        nlohmann::json body = {{"purged", removed}};
        body["model"] = model ? nlohmann::json(*model) : nlohmann::json(nullptr);
        sendJsonValue(exchange, 200, body, request_id);
      },
      Worker::Lane::kMaintenance);
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
                         {"takeovers", coalescing.takeovers},
                         {"refused_waiters", coalescing.refused}};
  sendJsonValue(*exchange, 200, body, request_id);
}

}  // namespace arkroute
