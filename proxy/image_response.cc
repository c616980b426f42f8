// Parses stored image responses with simdjson and writes the derived forms with nlohmann::json.
#include "proxy/image_response.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>

namespace arkroute {

namespace {

using simdjson::dom::element;

// Parses body; returns false when it is not a cacheable images response.
bool parseImages(simdjson::dom::parser& parser, std::string_view body, element* root,
                 simdjson::dom::array* data) {
  if (parser.parse(body.data(), body.size()).get(*root) != simdjson::SUCCESS) return false;
  if (!root->is_object() || (*root)["data"].get(*data) != simdjson::SUCCESS) return false;
  if (data->size() == 0) return false;
  for (element item : *data) {
    std::string_view b64;
    if (item["b64_json"].get(b64) != simdjson::SUCCESS || b64.empty()) return false;
  }
  return true;
}

nlohmann::json toJson(element value) {
  return nlohmann::json::parse(simdjson::minify(value), nullptr, false);
}

std::string optionalString(element root, const char* key) {
  std::string_view text;
  return root[key].get(text) == simdjson::SUCCESS ? std::string(text) : std::string();
}

}  // namespace

bool isCacheableImagesJson(std::string_view body) {
  return imageCount(body) > 0;
}

size_t imageCount(std::string_view body) {
  simdjson::dom::parser parser;
  element root;
  simdjson::dom::array data;
  return parseImages(parser, body, &root, &data) ? data.size() : 0;
}

std::optional<std::string> toSseReplay(std::string_view body) {
  simdjson::dom::parser parser;
  element root;
  simdjson::dom::array data;
  if (!parseImages(parser, body, &root, &data)) return std::nullopt;
  int64_t created = 0;
  if (root["created"].get(created) != simdjson::SUCCESS) created = 0;
  std::string out;
  for (element item : data) {
    std::string_view b64;
    if (item["b64_json"].get(b64) != simdjson::SUCCESS) return std::nullopt;
    nlohmann::json event = {
        {"type", "image_generation.completed"}, {"b64_json", b64}, {"created_at", created}};
    for (const char* key : {"size", "quality", "background", "output_format"}) {
      std::string value = optionalString(root, key);
      if (!value.empty()) event[key] = value;
    }
    element usage;
    if (root["usage"].get(usage) == simdjson::SUCCESS) event["usage"] = toJson(usage);
    out += "event: image_generation.completed\ndata: " + event.dump() + "\n\n";
  }
  return out;
}

std::optional<std::string> toUrlResponse(std::string_view body, std::string_view public_url,
                                         std::string_view id) {
  simdjson::dom::parser parser;
  element root;
  simdjson::dom::array data;
  if (!parseImages(parser, body, &root, &data)) return std::nullopt;
  nlohmann::json out = nlohmann::json::object();
  simdjson::dom::object object = root.get_object().value();
  for (auto field : object) {
    if (field.key == "data") continue;
    out[std::string(field.key)] = toJson(field.value);
  }
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  nlohmann::json items = nlohmann::json::array();
  for (size_t i = 0; i < data.size(); ++i) {
    nlohmann::json item = toJson(data.at(i).value());
    item.erase("b64_json");
    item["url"] = base + "/v1/images/cache/" + std::string(id) + "-" + std::to_string(i);
    items.push_back(std::move(item));
  }
  out["data"] = std::move(items);
  return out.dump();
}

std::optional<std::string> imageBytes(std::string_view body, size_t index) {
  simdjson::dom::parser parser;
  element root;
  simdjson::dom::array data;
  if (!parseImages(parser, body, &root, &data) || index >= data.size()) return std::nullopt;
  std::string_view b64;
  if (data.at(index)["b64_json"].get(b64) != simdjson::SUCCESS) return std::nullopt;
  return decodeBase64(b64);
}

std::string_view detectImageType(std::string_view bytes) {
  if (bytes.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
  if (bytes.starts_with("\xff\xd8\xff")) return "image/jpeg";
  if (bytes.size() >= 12 && bytes.starts_with("RIFF") && bytes.substr(8, 4) == "WEBP") {
    return "image/webp";
  }
  if (bytes.starts_with("GIF87a") || bytes.starts_with("GIF89a")) return "image/gif";
  return "application/octet-stream";
}

std::optional<std::string> decodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t padding = 0;
  if (text.ends_with("==")) {
    padding = 2;
  } else if (text.ends_with("=")) {
    padding = 1;
  }
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

}  // namespace arkroute
