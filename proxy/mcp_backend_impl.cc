// MCP backend: in-process generations and price-table answers.
#include "proxy/mcp_backend_impl.h"

#include "proxy/generation_handler.h"
#include "proxy/internal_exchange.h"
#include "proxy/ledger.h"
#include "proxy/pricing.h"
#include "proxy/responses.h"
#include "proxy/usage_report.h"
#include "proxy/virtual_keys.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {

nlohmann::json pricesJson(const ModelConfig& model) {
  if (!model.price) return nullptr;
  nlohmann::json per_image = nlohmann::json::object();
  for (const auto& [quality, sizes] : model.price->per_image) {
    for (const auto& [size, usd] : sizes) per_image[quality][size] = usd;
  }
  nlohmann::json out = {{"per_image_usd", per_image}};
  if (model.price->tokens) {
    const TokenRates& r = *model.price->tokens;
    out["per_million_tokens_usd"] = {{"text_input", r.text_input_per_million},
                                     {"image_input", r.image_input_per_million},
                                     {"image_output", r.image_output_per_million}};
  }
  return out;
}

}  // namespace

void GatewayMcpBackend::generateImage(std::string request_json, std::string authorization,
                                      std::function<void(mcp::GenerationOutcome)> done) {
  http::Request request;
  request.method = "POST";
  request.target = request.path = "/v1/images/generations";
  request.headers.set("Content-Type", "application/json");
  if (!authorization.empty()) request.headers.set("Authorization", authorization);
  request.body = std::move(request_json);
  std::string request_id = requestIdFor(request);
  auto exchange = std::make_shared<InternalExchange>(
      worker_.base(), std::move(request), [done = std::move(done)](InternalResponse response) {
        done(mcp::GenerationOutcome{response.status, std::move(response.headers),
                                    std::move(response.body)});
      });
  GenerationHandler::start(worker_, exchange, std::move(request_id));
}

nlohmann::json GatewayMcpBackend::listModels() const {
  nlohmann::json models = nlohmann::json::array();
  for (const ModelConfig& model : worker_.runtime().config().models) {
    models.push_back({{"name", model.name},
                      {"provider", model.upstream},
                      {"upstream_model", model.upstream_model},
                      {"prices", pricesJson(model)}});
  }
  return models;
}

std::optional<nlohmann::json> GatewayMcpBackend::estimateCost(const std::string& model_name,
                                                              const std::string& size,
                                                              const std::string& quality,
                                                              int n) const {
  const ModelConfig* model = worker_.runtime().config().findModel(model_name);
  if (!model) return std::nullopt;
  nlohmann::json out = {{"model", model_name}, {"n", n}, {"size", size}, {"quality", quality}};
  std::optional<double> unit, total;
  if (model->price) {
    unit = arkroute::estimateCost(*model->price, quality, size, 1);
    total = arkroute::estimateCost(*model->price, quality, size, n);
  }
  out["unit_usd"] = unit ? nlohmann::json(*unit) : nlohmann::json(nullptr);
  out["total_usd"] = total ? nlohmann::json(*total) : nlohmann::json(nullptr);
  return out;
}

std::optional<nlohmann::json> GatewayMcpBackend::usage(const std::string& authorization) const {
  // Per-caller usage needs auth.mode = "keys"; the anonymous totals of an open gateway are
  // everyone's, which an agent should not read as its own.
  if (worker_.runtime().config().auth.mode != AuthMode::kKeys) return std::nullopt;
  Services& services = worker_.services();
  auto found = services.keys->authenticate(bearerToken(authorization), services.now_ms());
  if (!std::holds_alternative<VirtualKey>(found)) return std::nullopt;
  const VirtualKey& key = std::get<VirtualKey>(found);
  auto rows = services.ledger->rows(key.id, "");
  nlohmann::json report = usageJson(rows, worker_.runtime().config(), "", {{key.id, key.name}},
                                    KeyBalance{key, services.ledger->spent(key.id)});
  return report;
}

std::string GatewayMcpBackend::authenticate(const std::string& authorization) const {
  // open and passthrough modes admit every caller, as the HTTP API does.
  if (worker_.runtime().config().auth.mode != AuthMode::kKeys) return "";
  Services& services = worker_.services();
  auto found = services.keys->authenticate(bearerToken(authorization), services.now_ms());
  if (auto* rejection = std::get_if<KeyRejection>(&found)) return std::string(describe(*rejection));
  return "";
}

}  // namespace arkroute
