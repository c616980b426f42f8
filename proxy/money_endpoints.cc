// Usage and key administration endpoints.
#include "proxy/money_endpoints.h"

#include "proxy/cache_endpoints.h"
#include "proxy/key_spec_json.h"
#include "proxy/ledger.h"
#include "proxy/pricing.h"
#include "proxy/responses.h"
#include "proxy/usage_report.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {

std::map<std::string, std::string> keyNames(const KeyRegistry& keys) {
  std::map<std::string, std::string> names;
  for (const VirtualKey& key : keys.list()) names[key.id] = key.name;
  return names;
}

// The ?since= filter, or an error sent (returns false).
bool readSince(http::Exchange& exchange, const std::string& request_id, std::string* since) {
  auto value = queryParam(exchange.request().query, "since");
  if (!value) return true;
  auto day = parseDay(*value);
  if (!day) {
    sendError(exchange,
              ApiError::invalidRequest("'since' must be a date, YYYY-MM-DD", std::string("since")),
              request_id);
    return false;
  }
  *since = *day;
  return true;
}

}  // namespace

bool readCallerKey(Worker& worker, http::Exchange& exchange, const std::string& request_id,
                   std::optional<VirtualKey>* key) {
  if (worker.runtime().config().auth.mode != AuthMode::kKeys) return true;
  Services& services = worker.services();
  auto found = services.keys->authenticate(
      bearerToken(exchange.request().headers.get("authorization")), services.now_ms());
  if (auto* rejection = std::get_if<KeyRejection>(&found)) {
    sendError(exchange, ApiError::invalidApiKey(std::string(describe(*rejection))), request_id);
    return false;
  }
  *key = std::move(std::get<VirtualKey>(found));
  return true;
}

void handleUsage(Worker& worker, std::shared_ptr<http::Exchange> exchange, std::string request_id) {
  Services& services = worker.services();
  const Config& config = worker.runtime().config();
  std::string since;
  if (!readSince(*exchange, request_id, &since)) return;
  std::optional<KeyBalance> balance;
  std::string key_id;  // open mode: the anonymous rows
  if (config.auth.mode == AuthMode::kPassthrough) {
    // Callers are told apart by nothing but their provider keys: the anonymous rows are
    // everyone's spend, which no caller should read.
    ApiError error = ApiError::invalidRequest(
        "Usage per caller needs auth.mode = \"keys\". With \"passthrough\" your spend is on your "
        "provider account; the operator reads everyone's with GET /admin/usage.",
        std::nullopt, std::string("usage_not_available"));
    error.status = 403;
    sendError(*exchange, error, request_id);
    return;
  }
  std::optional<VirtualKey> key;
  if (!readCallerKey(worker, *exchange, request_id, &key)) return;
  if (key) {
    key_id = key->id;
    balance = KeyBalance{*key, services.ledger->spent(key->id)};
  }
  auto rows = services.ledger->rows(key_id, since);
  sendJsonValue(*exchange, 200, usageJson(rows, config, since, keyNames(*services.keys), balance),
                request_id);
}

void handleAdminUsage(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                      std::string request_id) {
  if (!authorizeAdmin(worker, *exchange, request_id)) return;
  Services& services = worker.services();
  std::string since;
  if (!readSince(*exchange, request_id, &since)) return;
  std::optional<std::string> key;
  if (!readTextParam(*exchange, "key", request_id, &key)) return;
  auto rows = services.ledger->rows(key.value_or("*"), since);
  sendJsonValue(
      *exchange, 200,
      usageJson(rows, worker.runtime().config(), since, keyNames(*services.keys), std::nullopt),
      request_id);
}

void handleAdminKeyCreate(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                          std::string request_id) {
  if (!authorizeAdmin(worker, *exchange, request_id)) return;
  const Config& config = worker.runtime().config();
  auto parsed = keySpecFromJson(exchange->request().body);
  if (auto* message = std::get_if<std::string>(&parsed)) {
    sendError(*exchange, ApiError::invalidRequest(*message), request_id);
    return;
  }
  KeySpec spec = std::get<KeySpec>(parsed);
  for (const std::string& model : spec.models) {
    if (!config.findModel(model)) {
      sendError(*exchange, ApiError::modelNotFound(model), request_id);
      return;
    }
  }
  // Storing the key is a database write: off the loop, like every write that may wait.
  worker.answerOffLoop(
      exchange, request_id,
      [keys = worker.services().keys, spec = std::move(spec),
       budget = config.auth.default_budget_usd,
       now = worker.services().now_ms()]() -> std::variant<CreatedKey, ApiError> {
        auto created = keys->create(spec, budget, now);
        if (auto* key = std::get_if<CreatedKey>(&created)) return std::move(*key);
        return keyCreateRefusal(spec, now, std::get<std::string>(created));
      },
      [request_id](http::Exchange& exchange, const std::variant<CreatedKey, ApiError>& created) {
        if (auto* refused = std::get_if<ApiError>(&created)) {
          sendError(exchange, *refused, request_id);
          return;
        }
        const CreatedKey& key = std::get<CreatedKey>(created);
        nlohmann::json body = key.key.toPublicJson();
        body["object"] = "key";
        body["secret"] = key.secret;
        sendJsonValue(exchange, 201, body, request_id);
      },
      Worker::Lane::kMaintenance);
}

void handleAdminKeyList(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                        std::string request_id) {
  if (!authorizeAdmin(worker, *exchange, request_id)) return;
  Services& services = worker.services();
  nlohmann::json data = nlohmann::json::array();
  for (const VirtualKey& key : services.keys->list()) {
    nlohmann::json item = key.toPublicJson();
    item["spent_usd"] = roundUsd(services.ledger->spent(key.id));
    data.push_back(std::move(item));
  }
  sendJsonValue(*exchange, 200, nlohmann::json{{"object", "list"}, {"data", data}}, request_id);
}

ApiError keyCreateRefusal(const KeySpec& spec, int64_t now_ms, const std::string& error) {
  if (keySpecProblem(spec, now_ms)) return ApiError::invalidRequest(error);
  ApiError refused = ApiError::internal("The key was NOT created: " + error +
                                        ". Nothing was stored: try again (the gateway's log says "
                                        "more if it persists).");
  refused.status = 503;
  refused.code = "key_not_created";
  return refused;
}

ApiError keyRevokeRefusal(const KeyRegistry& keys, std::string_view id, const std::string& error) {
  if (!keys.find(id)) return ApiError::notFound(error, std::string("key_not_found"));
  ApiError refused = ApiError::internal("The key '" + std::string(id) +
                                        "' was NOT revoked and still works: " + error +
                                        ". Try again once the gateway's database takes writes.");
  refused.status = 503;
  refused.code = "key_not_revoked";
  return refused;
}

void handleAdminKeyRevoke(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                          std::string request_id) {
  if (!authorizeAdmin(worker, *exchange, request_id)) return;
  std::string id = exchange->request().path.substr(std::string_view("/admin/keys/").size());
  worker.answerOffLoop(
      exchange, request_id,
      [keys = worker.services().keys, id]() -> std::optional<ApiError> {
        std::string error;
        if (keys->revoke(id, &error)) return std::nullopt;
        return keyRevokeRefusal(*keys, id, error);
      },
      [id, request_id](http::Exchange& exchange, const std::optional<ApiError>& error) {
        if (error) {
          sendError(exchange, *error, request_id);
          return;
        }
        sendJsonValue(exchange, 200, nlohmann::json{{"id", id}, {"revoked", true}}, request_id);
      },
      Worker::Lane::kMaintenance);
}

}  // namespace arkroute
