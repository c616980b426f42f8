// Seedream's request fields, answers and stream events (simdjson to read, nlohmann to write).
#include "tests/sim/sim_seedream.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

namespace arkroute::sim {

namespace {

constexpr int kTokensPerImage = 4096;
constexpr int64_t kMaxImages = 15;

std::string pixelSize(const ImageParams& params) {
  auto [width, height] = pictureSize(params.size);
  return std::to_string(width) + "x" + std::to_string(height);
}

nlohmann::json usage(int images) {
  return {{"generated_images", images},
          {"output_tokens", images * kTokensPerImage},
          {"total_tokens", images * kTokensPerImage}};
}

// One data item (or event) member: the image's URL or its base64.
void putImage(ImageFactory& images, const ImageParams& params,
              const std::vector<std::string>& image_urls, int index, nlohmann::json* out) {
  if (image_urls.empty()) {
    (*out)["b64_json"] = images.imageBase64(params, index);
  } else {
    (*out)["url"] = image_urls[static_cast<size_t>(index)];
  }
  (*out)["size"] = pixelSize(params);
}

bool referenceImage(simdjson::dom::element value) {
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS) return false;
  return text.starts_with("data:image/") || text.starts_with("http://") ||
         text.starts_with("https://");
}

// Seedream's `image`: one reference (a URL or a data URI) or an array of 1 to 14.
bool referenceImages(simdjson::dom::element image) {
  simdjson::dom::array list;
  if (image.get(list) != simdjson::SUCCESS) return referenceImage(image);
  if (list.size() == 0 || list.size() > 14) return false;
  for (simdjson::dom::element item : list) {
    if (!referenceImage(item)) return false;
  }
  return true;
}

std::string sseEvent(const nlohmann::json& data) {
  std::string type = data["type"];
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

}  // namespace

std::optional<std::string> applySeedreamFields(const std::string& body, ImageParams* params) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) return errorJson("Bad JSON.", "");
  std::string_view format;
  if (root["response_format"].get(format) != simdjson::SUCCESS) params->response_format = "url";
  simdjson::dom::element image;
  if (root["image"].get(image) == simdjson::SUCCESS) {
    if (!referenceImages(image)) {
      return errorJson("image must be an image URL or data URI, or an array of them.", "image");
    }
    params->seed +=
        "\x1fimage:" + std::string(simdjson::minify(image));  // another image, another result
  }
  std::string_view sequential;
  int64_t max_images = kMaxImages;
  params->n = 1;
  if (root["sequential_image_generation"].get(sequential) == simdjson::SUCCESS &&
      sequential == "auto") {
    simdjson::dom::element given;
    if (root["sequential_image_generation_options"]["max_images"].get(given) == simdjson::SUCCESS &&
        (given.get(max_images) != simdjson::SUCCESS || max_images < 1 || max_images > kMaxImages)) {
      return errorJson("max_images must be an integer from 1 to 15.",
                       "sequential_image_generation_options.max_images");
    }
    params->n = static_cast<int>(max_images);
  }
  return std::nullopt;
}

std::string seedreamJson(ImageFactory& images, const ImageParams& params,
                         const std::vector<std::string>& image_urls) {
  nlohmann::json data = nlohmann::json::array();
  for (int i = 0; i < params.n; ++i) {
    nlohmann::json item = nlohmann::json::object();
    putImage(images, params, image_urls, i, &item);
    data.push_back(std::move(item));
  }
  return nlohmann::json{
      {"model", params.model}, {"created", kCreated}, {"data", data}, {"usage", usage(params.n)}}
      .dump();
}

std::vector<std::string> seedreamEvents(ImageFactory& images, const ImageParams& params,
                                        const std::vector<std::string>& image_urls) {
  std::vector<std::string> events;
  int generated = params.n - (params.seedream_fail_last ? 1 : 0);
  for (int i = 0; i < params.n; ++i) {
    nlohmann::json event = {{"model", params.model}, {"created", kCreated}, {"image_index", i}};
    if (params.seedream_fail_last && i == params.n - 1) {
      event["type"] = "image_generation.partial_failed";
      event["error"] = {{"code", "OutputImageSensitiveContentDetected"},
                        {"message", "The simulated output image was refused."}};
    } else {
      event["type"] = "image_generation.partial_succeeded";
      putImage(images, params, image_urls, i, &event);
    }
    events.push_back(sseEvent(event));
  }
  events.push_back(sseEvent({{"type", "image_generation.completed"},
                             {"model", params.model},
                             {"created", kCreated},
                             {"usage", usage(generated)}}));
  events.push_back("data: [DONE]\n\n");
  return events;
}

}  // namespace arkroute::sim
