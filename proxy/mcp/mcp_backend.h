// What the MCP endpoint needs from the gateway, implemented by the gateway (proxy/) and called on
// the worker's event loop thread. Keeps the MCP protocol layer independent of the pipeline.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/http/headers.h"

namespace arkroute::mcp {

struct GenerationOutcome {
  int status = 0;         // HTTP status the pipeline answered (0: aborted mid-response)
  http::Headers headers;  // incl. X-ArkRoute-Cache (HIT|MISS|COALESCED|BYPASS),
                          // X-ArkRoute-Cost-USD, X-ArkRoute-Saved-USD, X-ArkRoute-Model
  std::string body;       // OpenAI Images JSON ({"data":[{"b64_json":...}]}) or an error JSON
  // "<public_url>/v1/images/cache/<id>-" when the gateway's cache holds the images (image i's URL
  // is this followed by i, and edit_image takes it), else "".
  std::string image_url_base;
};

// An images.edit for edit_image: the form's text fields (prompt, model, ...) and the input images
// as the caller named them: gateway image URLs or ids, data: URLs, or base64.
struct EditImageRequest {
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> images;
};

class McpBackend {
 public:
  virtual ~McpBackend() = default;
  // Runs `request_json` (an OpenAI images.generate body, response_format forced to b64_json by
  // the caller) through the same pipeline as POST /v1/images/generations, as the caller whose
  // Authorization header value is `authorization` (may be empty). `done` is called exactly once,
  // on the same thread.
  virtual void generateImage(std::string request_json, std::string authorization,
                             std::function<void(GenerationOutcome)> done) = 0;
  // Runs request as an images.edit (a multipart/form-data POST /v1/images/edits) through the same
  // pipeline, as that caller. An image that cannot be read (not in the cache, not base64) is an
  // outcome with status 400 and an OpenAI-style error naming it. done: as for generateImage.
  virtual void editImage(EditImageRequest request, std::string authorization,
                         std::function<void(GenerationOutcome)> done) = 0;
  // [{"name","provider","upstream_model","prices":{...} or null}] for list_models: the models the
  // caller whose Authorization value is `authorization` may use (every model outside keys mode,
  // and for an empty authorization).
  virtual nlohmann::json listModels(const std::string& authorization) const = 0;
  // {"model","n","size","quality","unit_usd","total_usd"} or nullopt when the model is unknown;
  // "unit_usd"/"total_usd" are null when the model has no price configured.
  virtual std::optional<nlohmann::json> estimateCost(const std::string& model,
                                                     const std::string& size,
                                                     const std::string& quality, int n) const = 0;
  // The caller's usage/spend/savings/remaining budget, or nullopt when not available (no keys).
  virtual std::optional<nlohmann::json> usage(const std::string& authorization) const = 0;
  // Validates the caller's Authorization (keys mode). Empty string = allowed; otherwise the
  // error message for a 401.
  virtual std::string authenticate(const std::string& authorization) const = 0;
};

}  // namespace arkroute::mcp
