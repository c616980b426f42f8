// MCP backend: in-process generations and edits, and price-table answers.
#include "proxy/mcp_backend_impl.h"

#include <openssl/rand.h>

#include "proxy/cached_images.h"
#include "proxy/generation_handler.h"
#include "proxy/http/multipart_form.h"
#include "proxy/image_response.h"
#include "proxy/internal_exchange.h"
#include "proxy/ledger.h"
#include "proxy/mcp_edit_inputs.h"
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

std::string randomBoundary() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  std::string boundary = "arkroute-";
  for (unsigned char byte : bytes) {
    boundary.push_back("0123456789abcdef"[byte >> 4]);
    boundary.push_back("0123456789abcdef"[byte & 15]);
  }
  return boundary;
}

// The edit's form: its text fields, then the images as image[] files ("image-1.png", ...) with the
// type their bytes show. nullopt if no boundary was found that none of them holds.
std::optional<std::string> editForm(const mcp::EditImageRequest& edit,
                                    const std::vector<std::string>& images, std::string* boundary) {
  std::vector<http::FormField> fields;
  for (const auto& [name, value] : edit.fields) fields.push_back({name, value});
  std::vector<std::string> names;
  names.reserve(images.size());  // the files view these
  std::vector<http::FormFile> files;
  for (const std::string& bytes : images) {
    std::string_view type = detectImageType(bytes);
    std::string_view extension =
        type.starts_with("image/") ? type.substr(6) : std::string_view("bin");
    names.push_back("image-" + std::to_string(names.size() + 1) + "." + std::string(extension));
    files.push_back({"image[]", names.back(), type, bytes});
  }
  for (int attempt = 0; attempt < 4; ++attempt) {  // a random 128-bit boundary is never in them
    *boundary = randomBoundary();
    if (boundary->empty()) return std::nullopt;
    if (auto form = http::buildForm(*boundary, fields, files)) return form;
  }
  return std::nullopt;
}

mcp::GenerationOutcome unreadableImages(const std::string& message) {
  nlohmann::json error = {{"error",
                           {{"message", message},
                            {"type", "invalid_request_error"},
                            {"param", "images"},
                            {"code", "invalid_image"}}}};
  return mcp::GenerationOutcome{400, {}, error.dump(), ""};
}

}  // namespace

void GatewayMcpBackend::generateImage(std::string request_json, std::string authorization,
                                      std::function<void(mcp::GenerationOutcome)> done) {
  http::Request request;
  request.method = "POST";
  request.path = "/v1/images/generations";
  request.headers.set("Content-Type", "application/json");
  request.body = std::move(request_json);
  run(std::move(request), authorization, std::move(done));
}

void GatewayMcpBackend::editImage(mcp::EditImageRequest edit, std::string authorization,
                                  std::function<void(mcp::GenerationOutcome)> done) {
  Services& services = worker_.services();
  auto if_failed = [done] {
    done(unreadableImages("The images could not be read (an internal error, logged)."));
  };
  worker_.offLoop(
      [this, store = services.store, now = services.now_ms(), edit = std::move(edit),
       authorization = std::move(authorization), done = std::move(done)]() mutable {
        auto images = readEditInputs(store, edit.images, now);
        return std::function<void()>([this, images = std::move(images), edit = std::move(edit),
                                      authorization = std::move(authorization),
                                      done = std::move(done)]() mutable {
          if (auto* problem = std::get_if<std::string>(&images)) {
            return done(unreadableImages(*problem));
          }
          std::string boundary;
          auto form = editForm(edit, std::get<std::vector<std::string>>(images), &boundary);
          if (!form) return done(unreadableImages("The images could not be put in a form."));
          http::Request request;
          request.method = "POST";
          request.path = "/v1/images/edits";
          request.headers.set("Content-Type", "multipart/form-data; boundary=" + boundary);
          request.body = std::move(*form);
          run(std::move(request), authorization, std::move(done));
        });
      },
      std::move(if_failed));
}

// Runs request through the pipeline as the caller, on this worker.
void GatewayMcpBackend::run(http::Request request, const std::string& authorization,
                            std::function<void(mcp::GenerationOutcome)> done) {
  if (!authorization.empty()) request.headers.set("Authorization", authorization);
  std::string request_id = requestIdFor(request);
  auto exchange = std::make_shared<InternalExchange>(
      worker_.base(), std::move(request),
      [public_url = worker_.runtime().config().server.public_url,
       done = std::move(done)](InternalResponse response) {
        std::string url_base;
        if (!response.cached_images_id.empty()) {
          url_base = cachedImageUrlBase(public_url, response.cached_images_id);
        }
        done(mcp::GenerationOutcome{response.status, std::move(response.headers),
                                    std::move(response.body), std::move(url_base)});
      });
  GenerationHandler::start(worker_, exchange, std::move(request_id));
}

nlohmann::json GatewayMcpBackend::listModels(const std::string& authorization) const {
  // A key limited to some models lists only those, as GET /v1/models does.
  std::optional<VirtualKey> key;
  if (worker_.runtime().config().auth.mode == AuthMode::kKeys && !authorization.empty()) {
    Services& services = worker_.services();
    auto found = services.keys->authenticate(bearerToken(authorization), services.now_ms());
    if (auto* known = std::get_if<VirtualKey>(&found)) key = std::move(*known);
  }
  nlohmann::json models = nlohmann::json::array();
  for (const ModelConfig& model : worker_.runtime().config().models) {
    if (key && !key->allowsModel(model.name)) continue;
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
