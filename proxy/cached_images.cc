// Cached image ids and URLs, and reading an image back from its cache entry.
#include "proxy/cached_images.h"

#include <cctype>

#include "proxy/image_response.h"

namespace arkroute {

std::optional<CachedImageId> parseCachedImageId(std::string_view id) {
  size_t dash = id.rfind('-');
  if (dash == std::string_view::npos || dash + 1 >= id.size()) return std::nullopt;
  auto digest = cache::CacheKey::parseHex(id.substr(0, dash));
  if (!digest) return std::nullopt;
  size_t index = 0;
  for (size_t i = dash + 1; i < id.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(id[i])) || index >= 100) return std::nullopt;
    index = index * 10 + static_cast<size_t>(id[i] - '0');
  }
  return CachedImageId{*digest, index};
}

std::optional<CachedImageId> cachedImageIdIn(std::string_view url_or_id) {
  size_t path = url_or_id.find(kCachedImagePath);
  if (path != std::string_view::npos) url_or_id.remove_prefix(path + kCachedImagePath.size());
  return parseCachedImageId(url_or_id);
}

std::optional<std::string> cachedImageBytes(cache::CacheStore& store, const CachedImageId& image,
                                            int64_t now_ms) {
  auto found = store.lookupByDigest(image.digest, now_ms);
  if (!found.entry) return std::nullopt;
  return imageBytes(found.entry->body, image.index);
}

std::string cachedImageUrlBase(std::string_view public_url, std::string_view id) {
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  base.append(kCachedImagePath).append(id).append("-");
  return base;
}

}  // namespace arkroute
