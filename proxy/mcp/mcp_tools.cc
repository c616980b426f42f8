// tools/list and tools/call: argument checks, request building and backend calls.
#include "proxy/mcp/mcp_tools.h"

#include "proxy/mcp/generation_result.h"
#include "proxy/mcp/json_rpc.h"
#include "proxy/mcp/tool_catalog.h"

namespace arkroute::mcp {

namespace {

constexpr const char* kStringFields[] = {"model", "size", "quality", "output_format", "background"};
constexpr std::initializer_list<const char*> kEditStringFields = {
    "model", "size", "quality", "output_format", "background", "input_fidelity"};

// Checks optional string/integer fields; returns an error message or "".
std::string checkOptional(const nlohmann::json& arguments,
                          std::initializer_list<const char*> strings, bool has_n) {
  for (const char* field : strings) {
    if (arguments.contains(field) && !arguments[field].is_string() && !arguments[field].is_null()) {
      return std::string("\"") + field + "\" must be a string.";
    }
  }
  if (has_n && arguments.contains("n") && !arguments["n"].is_null()) {
    const nlohmann::json& n = arguments["n"];
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 10) {
      return "\"n\" must be an integer from 1 to 10.";
    }
  }
  return "";
}

std::string stringArg(const nlohmann::json& arguments, const char* field) {
  auto it = arguments.find(field);
  return it != arguments.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int intArg(const nlohmann::json& arguments, const char* field, int fallback) {
  auto it = arguments.find(field);
  return it != arguments.end() && it->is_number_integer() ? it->get<int>() : fallback;
}

// The non-empty "prompt" string argument, or null.
const nlohmann::json* promptArg(const nlohmann::json& arguments) {
  auto it = arguments.find("prompt");
  bool usable =
      it != arguments.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
  return usable ? &*it : nullptr;
}

ToolOutcome ok(nlohmann::json result) {
  return ToolOutcome{std::move(result), 0, ""};
}

nlohmann::json textResult(const std::string& text, nlohmann::json structured) {
  nlohmann::json result = {{"content", {{{"type", "text"}, {"text", text}}}}, {"isError", false}};
  if (!structured.is_null()) result["structuredContent"] = std::move(structured);
  return result;
}

}  // namespace

nlohmann::json toolError(const std::string& message) {
  return {{"content", {{{"type", "text"}, {"text", message}}}}, {"isError", true}};
}

McpTools::McpTools(McpBackend& backend, std::string default_model)
    : backend_(backend), default_model_(std::move(default_model)) {}

std::string McpTools::defaultModel(const std::string& authorization) const {
  if (!default_model_.empty()) return default_model_;
  nlohmann::json models = backend_.listModels(authorization);
  if (models.is_array() && !models.empty() && models[0].is_object() && models[0].contains("name") &&
      models[0]["name"].is_string()) {
    return models[0]["name"].get<std::string>();
  }
  return "";
}

// The model named in the arguments, else the default one ("" when there is none).
std::string McpTools::modelFor(const nlohmann::json& arguments,
                               const std::string& authorization) const {
  std::string model = stringArg(arguments, "model");
  return model.empty() ? defaultModel(authorization) : model;
}

nlohmann::json McpTools::list(const std::string& authorization) const {
  return toolCatalog(defaultModel(authorization));
}

void McpTools::call(const std::string& name, const nlohmann::json& arguments,
                    const std::string& authorization, std::function<void(ToolOutcome)> done) {
  if (!arguments.is_object()) {
    done(ToolOutcome{nullptr, rpc::kInvalidParams, "\"arguments\" must be an object"});
    return;
  }
  if (name == "generate_image") return generateImage(arguments, authorization, std::move(done));
  if (name == "edit_image") return editImage(arguments, authorization, std::move(done));
  if (name == "list_models") return done(listModels(authorization));
  if (name == "estimate_cost") return done(estimateCost(arguments));
  if (name == "get_usage") return done(usage(authorization));
  done(ToolOutcome{nullptr, rpc::kInvalidParams,
                   "Unknown tool: '" + name +
                       "'. Available: generate_image, edit_image, list_models, estimate_cost, "
                       "get_usage."});
}

void McpTools::generateImage(const nlohmann::json& arguments, const std::string& authorization,
                             std::function<void(ToolOutcome)> done) {
  const nlohmann::json* prompt = promptArg(arguments);
  if (!prompt) return done(ok(toolError("generate_image needs a non-empty \"prompt\" string.")));
  std::string problem =
      checkOptional(arguments, {"model", "size", "quality", "output_format", "background"}, true);
  if (!problem.empty()) return done(ok(toolError("generate_image: " + problem)));
  std::string model = modelFor(arguments, authorization);
  if (model.empty()) return done(ok(toolError("No image model is configured on this gateway.")));
  nlohmann::json request = {{"prompt", *prompt}, {"model", model}};
  for (const char* field : kStringFields) {
    std::string value = stringArg(arguments, field);
    if (!value.empty() && request.find(field) == request.end()) request[field] = value;
  }
  if (arguments.contains("n") && arguments["n"].is_number_integer()) request["n"] = arguments["n"];
  request["response_format"] = "b64_json";
  backend_.generateImage(request.dump(), authorization,
                         [model, done = std::move(done)](GenerationOutcome outcome) {
                           done(ok(generationResult(outcome, model)));
                         });
}

namespace {

// The images argument: a list of 1 to 16 non-empty strings (one string alone is taken as a list).
std::optional<std::vector<std::string>> imageList(const nlohmann::json& arguments) {
  auto it = arguments.find("images");
  if (it == arguments.end()) return std::nullopt;
  nlohmann::json list = it->is_string() ? nlohmann::json::array({*it}) : *it;
  if (!list.is_array() || list.empty() || list.size() > 16) return std::nullopt;
  std::vector<std::string> images;
  for (const nlohmann::json& image : list) {
    if (!image.is_string() || image.get_ref<const std::string&>().empty()) return std::nullopt;
    images.push_back(image.get<std::string>());
  }
  return images;
}

}  // namespace

void McpTools::editImage(const nlohmann::json& arguments, const std::string& authorization,
                         std::function<void(ToolOutcome)> done) {
  const nlohmann::json* prompt = promptArg(arguments);
  if (!prompt) return done(ok(toolError("edit_image needs a non-empty \"prompt\" string.")));
  std::optional<std::vector<std::string>> images = imageList(arguments);
  if (!images) {
    return done(ok(toolError(
        "edit_image needs \"images\": a list of 1 to 16 images, each an image_urls entry of an "
        "earlier generate_image or edit_image result, or base64.")));
  }
  std::string problem = checkOptional(arguments, kEditStringFields, true);
  if (!problem.empty()) return done(ok(toolError("edit_image: " + problem)));
  std::string model = modelFor(arguments, authorization);
  if (model.empty()) return done(ok(toolError("No image model is configured on this gateway.")));
  EditImageRequest request;
  request.fields = {{"prompt", prompt->get<std::string>()}, {"model", model}};
  for (const char* field : kEditStringFields) {
    std::string value = stringArg(arguments, field);
    if (!value.empty() && std::string_view(field) != "model")
      request.fields.emplace_back(field, value);
  }
  if (arguments.contains("n") && arguments["n"].is_number_integer()) {
    request.fields.emplace_back("n", std::to_string(arguments["n"].get<int64_t>()));
  }
  request.fields.emplace_back("response_format", "b64_json");
  request.images = std::move(*images);
  backend_.editImage(std::move(request), authorization,
                     [model, done = std::move(done)](GenerationOutcome outcome) {
                       done(ok(generationResult(outcome, model, ImageAction::kEdit)));
                     });
}

ToolOutcome McpTools::listModels(const std::string& authorization) const {
  nlohmann::json models = backend_.listModels(authorization);
  std::string text =
      std::to_string(models.size()) + " model(s) (prices in USD):\n" + models.dump(2);
  return ok(textResult(text, {{"models", models}}));
}

ToolOutcome McpTools::estimateCost(const nlohmann::json& arguments) const {
  std::string model = stringArg(arguments, "model");
  if (model.empty()) return ok(toolError("estimate_cost needs a \"model\" (see list_models)."));
  std::string problem = checkOptional(arguments, {"size", "quality"}, true);
  if (!problem.empty()) return ok(toolError("estimate_cost: " + problem));
  std::string size = stringArg(arguments, "size");
  std::string quality = stringArg(arguments, "quality");
  if (size.empty()) size = "auto";  // what the provider assumes, and the price table's default
  if (quality.empty()) quality = "auto";
  int n = intArg(arguments, "n", 1);
  std::optional<nlohmann::json> estimate = backend_.estimateCost(model, size, quality, n);
  if (!estimate) {
    return ok(toolError("Unknown model '" + model +
                        "'. Call list_models for the models this gateway serves."));
  }
  std::string text;
  if ((*estimate)["total_usd"].is_number()) {
    char buffer[160];
    std::snprintf(
        buffer, sizeof buffer, "%d image(s) with %s cost $%.6f ($%.6f each).", n, model.c_str(),
        (*estimate)["total_usd"].get<double>(),
        (*estimate)["unit_usd"].is_number() ? (*estimate)["unit_usd"].get<double>() : 0.0);
    text = buffer;
    text += " An identical repeat is served from the cache for free.";
  } else {
    text =
        "No price is configured for " + model + " at this size and quality: the cost is unknown.";
  }
  return ok(textResult(text, *estimate));
}

ToolOutcome McpTools::usage(const std::string& authorization) const {
  std::optional<nlohmann::json> usage = backend_.usage(authorization);
  if (!usage) {
    return ok(textResult(
        "Usage tracking is not available on this gateway: per-caller spend, savings and budgets "
        "need auth.mode = \"keys\" (virtual keys). Each generate_image result reports its own "
        "cost and cache savings, and estimate_cost gives prices in advance.",
        {{"available", false}}));
  }
  // structuredContent must be an object; wrap anything else the backend reports.
  nlohmann::json structured = usage->is_object() ? *usage : nlohmann::json{{"usage", *usage}};
  return ok(textResult("Your usage on this gateway (USD):\n" + usage->dump(2), structured));
}

}  // namespace arkroute::mcp
