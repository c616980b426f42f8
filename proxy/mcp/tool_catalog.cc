// Tool definitions (descriptions and JSON Schemas).
#include "proxy/mcp/tool_catalog.h"

namespace arkroute::mcp {

namespace {

constexpr const char* kGenerateImage = R"json({
  "name": "generate_image",
  "title": "Generate image",
  "inputSchema": {
    "type": "object",
    "properties": {
      "prompt": {"type": "string", "minLength": 1,
                 "description": "What the image should show, in natural language."},
      "model": {"type": "string",
                "description": "Model name from list_models. Omit to use the gateway's default."},
      "size": {"type": "string",
               "description": "WIDTHxHEIGHT such as 1024x1024, 1536x1024, 1024x1536, or auto. Larger sizes may cost more."},
      "quality": {"type": "string",
                  "description": "low | medium | high | auto (dall-e-3: standard | hd). Higher quality costs more."},
      "n": {"type": "integer", "minimum": 1, "maximum": 10,
            "description": "How many images to generate (default 1). The cost is per image."},
      "output_format": {"type": "string", "description": "png | jpeg | webp (model-dependent)."},
      "background": {"type": "string", "description": "transparent | opaque | auto."}
    },
    "required": ["prompt"]
  },
  "outputSchema": {
    "type": "object",
    "properties": {
      "model": {"type": "string", "description": "The model that answered."},
      "images": {"type": "integer", "description": "Number of images returned."},
      "mime_types": {"type": "array", "items": {"type": "string"}},
      "cache": {"type": "string", "description": "HIT, MISS, COALESCED or BYPASS."},
      "from_cache": {"type": "boolean"},
      "cost_usd": {"type": ["number", "null"], "description": "What this call cost; null = unknown."},
      "saved_usd": {"type": ["number", "null"], "description": "What the cache saved; null = nothing or unknown."},
      "urls": {"type": "array", "items": {"type": "string"}},
      "image_urls": {"type": "array", "items": {"type": "string"},
                     "description": "The images' URLs on the gateway (when its cache holds them): pass them to edit_image."}
    },
    "required": ["model", "images", "mime_types", "cache", "from_cache", "cost_usd", "saved_usd"]
  }
})json";

constexpr const char* kEditImage = R"json({
  "name": "edit_image",
  "title": "Edit image",
  "inputSchema": {
    "type": "object",
    "properties": {
      "prompt": {"type": "string", "minLength": 1,
                 "description": "The change to make, in natural language."},
      "images": {"type": "array", "minItems": 1, "maxItems": 16,
                 "items": {"type": "string", "minLength": 1},
                 "description": "The input images: the image_urls a generate_image or edit_image result gave (preferred: nothing to upload), or base64 / data:image/...;base64, text."},
      "model": {"type": "string",
                "description": "Model name from list_models. Omit to use the gateway's default."},
      "size": {"type": "string", "description": "WIDTHxHEIGHT such as 1024x1024, or auto."},
      "quality": {"type": "string", "description": "low | medium | high | auto. Higher quality costs more."},
      "n": {"type": "integer", "minimum": 1, "maximum": 10,
            "description": "How many edited images to make (default 1). The cost is per image."},
      "output_format": {"type": "string", "description": "png | jpeg | webp (model-dependent)."},
      "background": {"type": "string", "description": "transparent | opaque | auto."},
      "input_fidelity": {"type": "string", "description": "high | low: how closely to keep the input's details (model-dependent)."}
    },
    "required": ["prompt", "images"]
  }
})json";

constexpr const char* kListModels = R"json({
  "name": "list_models",
  "title": "List image models",
  "description": "List the image-generation models this gateway serves, each with its provider, the provider-side model name and its price table (USD per image by quality then size, \"*\" meaning any; or USD per million tokens). Free: nothing is generated. Use it to pick a model for generate_image and to compare prices.",
  "inputSchema": {"type": "object", "properties": {}},
  "outputSchema": {
    "type": "object",
    "properties": {"models": {"type": "array", "items": {"type": "object"}}},
    "required": ["models"]
  }
})json";

constexpr const char* kEstimateCost = R"json({
  "name": "estimate_cost",
  "title": "Estimate cost",
  "description": "Price in USD of a generate_image call before making it, from the gateway's configured price table: the unit price per image and the total for n images. Free: nothing is generated. A repeat of an earlier identical request costs nothing, because it is served from the cache. unit_usd/total_usd are null when the model has no price configured.",
  "inputSchema": {
    "type": "object",
    "properties": {
      "model": {"type": "string", "description": "Model name from list_models."},
      "size": {"type": "string", "description": "WIDTHxHEIGHT such as 1024x1024, or auto (default)."},
      "quality": {"type": "string", "description": "low | medium | high | auto (default)."},
      "n": {"type": "integer", "minimum": 1, "maximum": 10, "description": "Number of images (default 1)."}
    },
    "required": ["model"]
  },
  "outputSchema": {
    "type": "object",
    "properties": {
      "model": {"type": "string"},
      "n": {"type": "integer"},
      "size": {"type": "string"},
      "quality": {"type": "string"},
      "unit_usd": {"type": ["number", "null"]},
      "total_usd": {"type": ["number", "null"]}
    },
    "required": ["model", "n", "unit_usd", "total_usd"]
  }
})json";

constexpr const char* kGetUsage = R"json({
  "name": "get_usage",
  "title": "Get usage",
  "description": "Your spend, cache savings and remaining budget on this gateway, for the API key this session was opened with. Free. Needs the gateway to run with virtual keys (auth.mode = \"keys\"); otherwise it says that usage tracking is not available.",
  "inputSchema": {"type": "object", "properties": {}}
})json";

std::string defaultModelSentence(const std::string& default_model) {
  return " Default model: " +
         (default_model.empty() ? std::string("none configured") : default_model) + ".";
}

}  // namespace

nlohmann::json toolCatalog(const std::string& default_model) {
  nlohmann::json generate = nlohmann::json::parse(kGenerateImage);
  generate["description"] =
      "Generate images from a text prompt through the ArkRoute gateway (routed to the configured "
      "provider, OpenAI Images API semantics). Returns one image content block per image "
      "(base64, with its real MIME type) and a text summary of the model used, the cost in USD "
      "and whether it came from the cache. Each generated image costs money (see estimate_cost "
      "and list_models); an identical request (same prompt, model, size, quality, n, "
      "output_format, background) is served from the gateway's cache instantly and for free, so "
      "repeat the exact arguments to get the same image again." +
      defaultModelSentence(default_model) +
      " Failures (budget exhausted, rate limit, provider error, moderation refusal) come back "
      "as an error result carrying the reason.";
  nlohmann::json edit = nlohmann::json::parse(kEditImage);
  edit["description"] =
      "Edit images through the ArkRoute gateway (OpenAI images.edit semantics): give the change as "
      "a prompt and the input images, best as the image_urls of an earlier generate_image or "
      "edit_image result (the gateway reads them from its cache, nothing is uploaded). Returns "
      "the edited images like generate_image, with their own image_urls for further edits. Each "
      "edit costs money; an identical edit is served from the cache for free." +
      defaultModelSentence(default_model) +
      " An input image the gateway cannot read (expired from the cache, not base64) comes back "
      "as an error result naming it.";
  edit["outputSchema"] = generate["outputSchema"];
  return nlohmann::json::array(
      {std::move(generate), std::move(edit), nlohmann::json::parse(kListModels),
       nlohmann::json::parse(kEstimateCost), nlohmann::json::parse(kGetUsage)});
}

}  // namespace arkroute::mcp
