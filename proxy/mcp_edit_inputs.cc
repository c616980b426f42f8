// Reads edit_image's input images from the cache or from base64 text.
#include "proxy/mcp_edit_inputs.h"

#include "proxy/cached_images.h"
#include "proxy/image_response.h"

namespace arkroute {

namespace {

// The bytes of one named image, or why not (the message's subject is "Image N").
struct OneImage {
  std::optional<std::string> bytes;
  std::string problem;
};

OneImage failed(std::string problem) {
  return OneImage{std::nullopt, std::move(problem)};
}

OneImage readOne(cache::CacheStore* store, std::string_view image, int64_t now_ms) {
  if (auto id = cachedImageIdIn(image)) {
    if (!store) return failed("names a cached image, but the gateway's cache is off");
    auto found = cachedImage(*store, *id, now_ms);
    if (!found) {
      return failed("is not in the gateway's cache (expired, purged, or generated again since)");
    }
    return OneImage{std::move(found->bytes), ""};
  }
  if (image.find(kCachedImagePath) != std::string_view::npos) {
    return failed("is not a valid gateway image URL (.../v1/images/cache/<id>)");
  }
  std::string_view base64 = image;
  if (base64.starts_with("data:")) {
    size_t comma = base64.find(',');
    if (comma == std::string_view::npos ||
        base64.substr(0, comma).find(";base64") == std::string_view::npos) {
      return failed("is a data: URL that is not base64 (data:image/png;base64,...)");
    }
    base64.remove_prefix(comma + 1);
  }
  std::string compact;  // base64 as agents write it may be wrapped into lines
  compact.reserve(base64.size());
  for (char c : base64) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact.push_back(c);
  }
  auto bytes = decodeBase64(compact);
  if (!bytes || bytes->empty()) {
    return failed(
        "is neither a gateway image URL or id (from generate_image or edit_image) nor base64");
  }
  return OneImage{std::move(bytes), ""};
}

}  // namespace

std::variant<std::vector<std::string>, std::string> readEditInputs(
    cache::CacheStore* store, const std::vector<std::string>& images, int64_t now_ms) {
  std::vector<std::string> out;
  out.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    OneImage one = readOne(store, images[i], now_ms);
    if (!one.bytes) return "Image " + std::to_string(i + 1) + " " + one.problem + ".";
    out.push_back(std::move(*one.bytes));
  }
  return out;
}

}  // namespace arkroute
