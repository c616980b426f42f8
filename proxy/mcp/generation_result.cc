// Builds generate_image results from pipeline outcomes.
#include "proxy/mcp/generation_result.h"

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>

#include "proxy/mcp/image_mime.h"
#include "proxy/mcp/mcp_tools.h"

namespace arkroute::mcp {

namespace {

// "0.042000" → 0.042; "unknown", absent or malformed → null.
nlohmann::json usdHeader(const http::Headers& headers, std::string_view name) {
  auto value = headers.find(name);
  if (!value || value->empty()) return nullptr;
  std::string text(*value);  // strtod needs a terminated string
  char* end = nullptr;
  double amount = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0') return nullptr;
  return amount;
}

std::string formatUsd(const nlohmann::json& amount) {
  if (!amount.is_number()) return "unknown";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "$%.6f", amount.get<double>());
  return buffer;
}

std::string failureText(const GenerationOutcome& outcome, const std::string& what) {
  if (outcome.status == 0) {
    return what + " failed: the provider's response was cut short. Retrying may help.";
  }
  nlohmann::json body = nlohmann::json::parse(outcome.body, nullptr, false);
  std::string message, code, type;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const nlohmann::json& error = body["error"];
    if (error.contains("message") && error["message"].is_string()) message = error["message"];
    if (error.contains("code") && error["code"].is_string()) code = error["code"];
    if (error.contains("type") && error["type"].is_string()) type = error["type"];
  }
  if (message.empty()) message = outcome.body.substr(0, 300);
  std::string text = what + " failed (HTTP " + std::to_string(outcome.status);
  if (!code.empty())
    text += ", " + code;
  else if (!type.empty())
    text += ", " + type;
  text += "): " + message;
  return text;
}

std::string summary(const nlohmann::json& facts, ImageAction action) {
  const std::string verb = action == ImageAction::kEdit ? "Edited" : "Generated";
  const std::string cache = facts["cache"];
  std::string text = verb + " " + std::to_string(facts["images"].get<int>()) + " image(s) with " +
                     facts["model"].get<std::string>() + ". ";
  if (facts["from_cache"].get<bool>()) {
    text += "Served from the gateway cache (" + cache + "): cost " + formatUsd(facts["cost_usd"]) +
            ", saved " + formatUsd(facts["saved_usd"]) + " compared with generating it again.";
  } else {
    text += "Cost " + formatUsd(facts["cost_usd"]) + " (cache " + cache +
            "); repeating this exact request is served from the cache for free.";
  }
  return text;
}

}  // namespace

nlohmann::json generationResult(const GenerationOutcome& outcome, const std::string& model,
                                ImageAction action) {
  const std::string what = action == ImageAction::kEdit ? "Image edit" : "Image generation";
  if (outcome.status != 200) return toolError(failureText(outcome, what));
  // simdjson: a megabytes-long answer is read in well under a millisecond, not a JSON tree's ten
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  simdjson::dom::array data;
  if (parser.parse(outcome.body).get(body) != simdjson::SUCCESS ||
      body["data"].get(data) != simdjson::SUCCESS) {
    return toolError(what + " failed: the provider answered without a \"data\" list.");
  }
  nlohmann::json content = nlohmann::json::array();
  nlohmann::json mime_types = nlohmann::json::array();
  nlohmann::json urls = nlohmann::json::array();
  for (simdjson::dom::element item : data) {
    std::string_view image, url;
    if (item["b64_json"].get(image) == simdjson::SUCCESS) {
      std::string mime(detectImageMimeBase64(image));
      if (mime.empty() || !isBase64(image)) {  // an image block no client could show
        return toolError(what +
                         " failed: the provider answered an image that is not a PNG, "
                         "JPEG, WebP or GIF in base64.");
      }
      mime_types.push_back(mime);
      content.push_back({{"type", "image"}, {"data", std::string(image)}, {"mimeType", mime}});
    } else if (item["url"].get(url) == simdjson::SUCCESS) {
      urls.push_back(std::string(url));
    }
  }
  int images = static_cast<int>(mime_types.size() + urls.size());
  if (images == 0) return toolError(what + " failed: the provider returned no image.");
  std::string cache(outcome.headers.get("X-ArkRoute-Cache", "BYPASS"));
  std::string answered_by(outcome.headers.get("X-ArkRoute-Model", model));
  nlohmann::json facts = {{"model", answered_by},
                          {"images", images},
                          {"mime_types", mime_types},
                          {"cache", cache},
                          {"from_cache", cache == "HIT" || cache == "COALESCED"},
                          {"cost_usd", usdHeader(outcome.headers, "X-ArkRoute-Cost-USD")},
                          {"saved_usd", usdHeader(outcome.headers, "X-ArkRoute-Saved-USD")}};
  if (!urls.empty()) facts["urls"] = urls;
  std::string text = summary(facts, action);
  for (const nlohmann::json& url : urls) text += "\nImage URL: " + url.get<std::string>();
  if (!outcome.image_url_base.empty() && !mime_types.empty()) {
    nlohmann::json image_urls = nlohmann::json::array();
    for (size_t i = 0; i < mime_types.size(); ++i) {
      image_urls.push_back(outcome.image_url_base + std::to_string(i));
    }
    text += "\nTo edit an image, pass its URL to edit_image:";
    for (const nlohmann::json& url : image_urls) text += "\n" + url.get<std::string>();
    facts["image_urls"] = std::move(image_urls);
  }
  content.push_back({{"type", "text"}, {"text", text}});
  return {
      {"content", std::move(content)}, {"structuredContent", std::move(facts)}, {"isError", false}};
}

}  // namespace arkroute::mcp
