// Request parsing (simdjson) and response building (nlohmann::json) for the simulator.
#include "tests/sim/sim_images.h"

#include <simdjson.h>
#include <xxhash.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "tests/sim/png.h"
#include "tests/sim/sim_seedream.h"

namespace arkroute::sim {

std::string errorJson(const std::string& message, const std::string& param) {
  nlohmann::json error = {
      {"message", message}, {"type", "invalid_request_error"}, {"code", nullptr}};
  error["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  return nlohmann::json{{"error", error}}.dump();
}

namespace {

void readString(simdjson::dom::element root, const char* key, std::string* out) {
  std::string_view value;
  if (root[key].get(value) == simdjson::SUCCESS) *out = std::string(value);
}

int outputTokens(const std::string& quality, const std::string& size) {
  int column = size == "1024x1536" ? 1 : size == "1536x1024" ? 2 : 0;
  static constexpr int kLow[] = {272, 408, 400}, kMedium[] = {1056, 1584, 1568},
                       kHigh[] = {4160, 6240, 6208};
  if (quality == "low") return kLow[column];
  if (quality == "medium") return kMedium[column];
  return kHigh[column];
}

// The field of an imageKey() that holds the size (its third).
std::string_view sizeField(std::string_view key) {
  for (int skip = 0; skip < 2; ++skip) {
    size_t separator = key.find('\x1f');
    if (separator == std::string_view::npos) return {};
    key.remove_prefix(separator + 1);
  }
  return key.substr(0, key.find('\x1f'));
}

int readSide(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : 0;
}

}  // namespace

std::pair<int, int> pictureSize(std::string_view size) {
  size_t x = size.find('x');
  if (x != std::string_view::npos) {
    int width = readSide(size.substr(0, x)), height = readSide(size.substr(x + 1));
    if (width > 0 && height > 0) return {width, height};
  }
  size_t colon = size.find(':'), slash = size.find('/');
  if (colon != std::string_view::npos && slash != std::string_view::npos && colon < slash) {
    int across = readSide(size.substr(0, colon));
    int down = readSide(size.substr(colon + 1, slash - colon - 1));
    int longest = size.substr(slash + 1) == "2k" ? 2048 : 1024;
    if (across > 0 && down > 0) {
      return across >= down ? std::pair{longest, longest * down / across}
                            : std::pair{longest * across / down, longest};
    }
  }
  if (size == "1K" || size == "2K" || size == "4K") {
    int side = (size[0] - '0') * 1024;
    return {side, side};
  }
  return {1024, 1024};
}

std::optional<std::string> parseImageRequest(const std::string& body, ImageParams* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return errorJson("The body must be a JSON object.", "");
  }
  readString(root, "prompt", &out->prompt);
  if (out->prompt.empty()) return errorJson("Missing required parameter: 'prompt'.", "prompt");
  readString(root, "model", &out->model);
  readString(root, "size", &out->size);
  if (out->size == "auto") out->size = "1024x1024";
  readString(root, "quality", &out->quality);
  readString(root, "background", &out->background);
  readString(root, "output_format", &out->output_format);
  readString(root, "response_format", &out->response_format);
  simdjson::dom::element seed;
  if (root["seed"].get(seed) == simdjson::SUCCESS) out->seed = simdjson::minify(seed);
  int64_t n = 1;
  simdjson::dom::element n_value;
  if (root["n"].get(n_value) == simdjson::SUCCESS &&
      (n_value.get(n) != simdjson::SUCCESS || n < 1 || n > 10)) {
    return errorJson("'n' must be an integer from 1 to 10.", "n");
  }
  out->n = static_cast<int>(n);
  bool stream = false;
  if (root["stream"].get(stream) == simdjson::SUCCESS) out->stream = stream;
  int64_t partials = 0;
  if (root["partial_images"].get(partials) == simdjson::SUCCESS) {
    out->partial_images = static_cast<int>(std::clamp<int64_t>(partials, 0, 3));
  }
  return std::nullopt;
}

std::string ImageFactory::imageKey(const ImageParams& p, int index) {
  return p.prompt + '\x1f' + p.model + '\x1f' + p.size + '\x1f' + p.quality + '\x1f' +
         p.background + '\x1f' + p.output_format + '\x1f' + p.seed + '\x1f' + std::to_string(index);
}

std::string ImageFactory::pngForKey(const std::string& key) {
  uint64_t seed = XXH3_64bits(key.data(), key.size());
  auto [width, height] = pictureSize(sizeField(key));
  return makePng(seed, width, height, payload_bytes_);
}

const std::string& ImageFactory::imageBase64(const ImageParams& params, int index) {
  std::string key = imageKey(params, index);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  if (order_.size() >= 32) {
    cache_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(key);
  return cache_[key] = base64Encode(pngForKey(key));
}

std::string ImageFactory::partialBase64(const ImageParams& params, int index) {
  std::string key = imageKey(params, 0) + "\x1fpartial" + std::to_string(index);
  auto [width, height] = pictureSize(params.size);
  return base64Encode(makePng(XXH3_64bits(key.data(), key.size()), width, height, 0));
}

std::string ImageFactory::usageJson(const ImageParams& p) const {
  int input = static_cast<int>(p.prompt.size() / 4 + 8);
  int output = outputTokens(p.quality, p.size) * p.n;
  nlohmann::json usage = {{"input_tokens", input},
                          {"output_tokens", output},
                          {"total_tokens", input + output},
                          {"input_tokens_details", {{"text_tokens", input}, {"image_tokens", 0}}}};
  return usage.dump();
}

std::string ImageFactory::jsonResponse(const ImageParams& p,
                                       const std::vector<std::string>& image_urls) {
  if (p.seedream) return seedreamJson(*this, p, image_urls);
  std::string out = "{\"created\":" + std::to_string(kCreated) + ",\"data\":[";
  for (int i = 0; i < p.n; ++i) {
    if (i) out += ',';
    if (!image_urls.empty()) {
      out += "{\"url\":" + nlohmann::json(image_urls[static_cast<size_t>(i)]).dump() + "}";
    } else {
      out += "{\"b64_json\":\"" + imageBase64(p, i) + "\"}";
    }
  }
  nlohmann::json tail = {{"background", p.background},
                         {"output_format", p.output_format},
                         {"quality", p.quality},
                         {"size", p.size}};
  std::string tail_text = tail.dump();
  out += "],\"usage\":" + usageJson(p) + "," + tail_text.substr(1);
  return out;
}

std::vector<std::string> ImageFactory::streamEvents(const ImageParams& p,
                                                    const std::vector<std::string>& image_urls) {
  if (p.seedream) return seedreamEvents(*this, p, image_urls);
  std::vector<std::string> events;
  auto base = [&](const char* type) {
    return nlohmann::json{
        {"type", type},         {"created_at", kCreated},     {"size", p.size},
        {"quality", p.quality}, {"background", p.background}, {"output_format", p.output_format}};
  };
  const std::string partial = p.event_kind + ".partial_image";
  const std::string completed = p.event_kind + ".completed";
  for (int i = 0; i < p.partial_images; ++i) {
    nlohmann::json event = base(partial.c_str());
    event["b64_json"] = partialBase64(p, i);
    event["partial_image_index"] = i;
    events.push_back("event: " + partial + "\ndata: " + event.dump() + "\n\n");
  }
  for (int i = 0; i < p.n; ++i) {
    nlohmann::json event = base(completed.c_str());
    event["b64_json"] = imageBase64(p, i);
    event["usage"] = nlohmann::json::parse(usageJson(p));
    events.push_back("event: " + completed + "\ndata: " + event.dump() + "\n\n");
  }
  return events;
}

}  // namespace arkroute::sim
