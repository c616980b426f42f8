// Parses stored image responses with simdjson and writes the derived forms (url answers straight
// from the parsed document, SSE replays with json_text, never a JSON tree of the images).
#include "proxy/image_response.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <array>

#include "proxy/cached_images.h"
#include "proxy/json_text.h"

namespace arkroute {

namespace {

using simdjson::dom::element;

// Checks a parse result; returns false when it is not a cacheable images response.
bool imagesIn(simdjson::simdjson_result<element> parsed, element* root,
              simdjson::dom::array* data) {
  if (parsed.get(*root) != simdjson::SUCCESS) return false;
  if (!root->is_object() || (*root)["data"].get(*data) != simdjson::SUCCESS) return false;
  if (data->size() == 0) return false;
  for (element item : *data) {
    std::string_view b64;
    if (item["b64_json"].get(b64) != simdjson::SUCCESS || b64.empty()) return false;
  }
  return true;
}

bool parseImages(simdjson::dom::parser& parser, std::string_view body, element* root,
                 simdjson::dom::array* data) {
  return imagesIn(parser.parse(body.data(), body.size()), root, data);
}

// One parser per thread for these transforms: its buffers are sized once, not for every call
// (each call finishes with the document before returning, so sharing it is safe).
simdjson::dom::parser& threadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

bool isCacheableImagesJson(std::string_view body) {
  element root;
  simdjson::dom::array data;
  return parseImages(threadParser(), body, &root, &data);
}

size_t imageCount(const std::string& body) {
  static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);
  element root;
  simdjson::dom::array data;
  return imagesIn(threadParser().parse(body), &root, &data) ? data.size() : 0;
}

namespace {

// "event: <name>\ndata: " + an object's members written by fill + "\n\n".
template <typename Fill>
void appendEvent(const std::string& name, std::string& out, Fill fill) {
  out.append("event: ").append(name).append("\ndata: ");
  json_text::ObjectWriter event(out);
  fill(event);
  event.close();
  out.append("\n\n");
}

// OpenAI's dialect: one completed event per image, carrying it and the answer's fields.
std::string openAiReplay(element root, simdjson::dom::array data, ImageEvents events) {
  int64_t created = 0;
  if (root["created"].get(created) != simdjson::SUCCESS) created = 0;
  // The answer's fields, read once: every image's event carries them.
  static constexpr std::array<const char*, 4> kFields = {"size", "quality", "background",
                                                         "output_format"};
  std::array<std::string_view, kFields.size()> values;
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (root[kFields[i]].get(values[i]) != simdjson::SUCCESS) values[i] = {};
  }
  element usage;
  bool has_usage = root["usage"].get(usage) == simdjson::SUCCESS;
  const std::string usage_json = has_usage ? simdjson::minify(usage) : std::string();
  const std::string completed = completedEventName(events);
  std::string out;
  for (element item : data) {
    appendEvent(completed, out, [&](json_text::ObjectWriter& event) {
      event.string("type", completed)
          .string("b64_json",
                  item["b64_json"].get_string().value_unsafe())  // parseImages checked it
          .number("created_at", created);
      for (size_t i = 0; i < kFields.size(); ++i) {
        if (!values[i].empty()) event.string(kFields[i], values[i]);
      }
      if (has_usage) event.raw("usage", usage_json);
    });
  }
  return out;
}

// Seedream's dialect: a partial_succeeded event per image, a completed event with the usage, and
// the [DONE] line Seedream ends its streams with.
std::string seedreamReplay(element root, simdjson::dom::array data, ImageEvents events) {
  int64_t created = 0;
  if (root["created"].get(created) != simdjson::SUCCESS) created = 0;
  std::string_view model;
  if (root["model"].get(model) != simdjson::SUCCESS) model = {};
  const std::string succeeded = eventName(events, "partial_succeeded");
  std::string out;
  int64_t index = 0;
  for (element item : data) {
    appendEvent(succeeded, out, [&](json_text::ObjectWriter& event) {
      event.string("type", succeeded)
          .string("model", model)
          .number("created", created)
          .number("image_index", index++)
          .string("b64_json", item["b64_json"].get_string().value_unsafe());
      std::string_view size;
      if (item["size"].get(size) == simdjson::SUCCESS) event.string("size", size);
    });
  }
  const std::string completed = completedEventName(events);
  appendEvent(completed, out, [&](json_text::ObjectWriter& event) {
    event.string("type", completed)
        .string("model", model)
        .number("created", created)
        .raw("usage", simdjson::minify(root["usage"].value_unsafe()));
  });
  out.append("data: [DONE]\n\n");
  return out;
}

}  // namespace

std::optional<std::string> toSseReplay(std::string_view body, ImageEvents events) {
  element root;
  simdjson::dom::array data;
  if (!parseImages(threadParser(), body, &root, &data)) return std::nullopt;
  // Seedream's answers count their images in usage.generated_images; OpenAI's never do.
  bool seedream = root["usage"]["generated_images"].error() == simdjson::SUCCESS;
  return seedream ? seedreamReplay(root, data, events) : openAiReplay(root, data, events);
}

namespace {

// Writes `"key":value` members of object (minified, in their order) to out, skipping one key.
void appendMembers(simdjson::dom::object object, std::string_view skip, std::string& out) {
  for (auto field : object) {
    if (field.key == skip) continue;
    if (out.back() != '{') out.push_back(',');
    json_text::appendString(field.key, out);
    out.push_back(':');
    out.append(simdjson::minify(field.value));
  }
}

}  // namespace

// Serves every url-format cache hit: built straight from the parsed document (no JSON tree).
std::optional<std::string> toUrlResponse(std::string_view body, std::string_view public_url,
                                         std::string_view id) {
  element root;
  simdjson::dom::array data;
  if (!parseImages(threadParser(), body, &root, &data)) return std::nullopt;
  const std::string base = cachedImageUrlBase(public_url, id);
  std::string out = "{";
  appendMembers(root.get_object().value(), "data", out);
  out.append(out.size() > 1 ? ",\"data\":[" : "\"data\":[");
  size_t index = 0;
  for (element item : data) {
    if (index > 0) out.push_back(',');
    out.push_back('{');
    appendMembers(item.get_object().value(), "b64_json", out);
    if (out.back() != '{') out.push_back(',');
    out.append("\"url\":");
    json_text::appendString(base + std::to_string(index++), out);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

std::optional<std::string> imageBytes(std::string_view body, size_t index) {
  element root;
  simdjson::dom::array data;
  if (!parseImages(threadParser(), body, &root, &data) || index >= data.size()) return std::nullopt;
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

std::string encodeBase64(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
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
