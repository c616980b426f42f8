// The cache's images by id: "<entry digest hex>-<index>", as in the gateway's image URLs
// (<public_url>/v1/images/cache/<id>), parsed, and read back as image bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cache/cache_key.h"
#include "cache/cache_store.h"

namespace arkroute {

// The path under which the gateway serves cached images: <public_url><kCachedImagePath><id>.
inline constexpr std::string_view kCachedImagePath = "/v1/images/cache/";

struct CachedImageId {
  cache::Digest digest;
  size_t index;
};

// The id's parts; nullopt when it is not "<32 hex digits>-<index below 1000>".
std::optional<CachedImageId> parseCachedImageId(std::string_view id);

// The id in a gateway image URL (anything up to "/v1/images/cache/", then the id), or the text
// itself when it is an id; nullopt for anything else.
std::optional<CachedImageId> cachedImageIdIn(std::string_view url_or_id);

// The decoded image, when the entry is there and has that image. May wait on the disk: call it
// off the event loop.
std::optional<std::string> cachedImageBytes(cache::CacheStore& store, const CachedImageId& image,
                                            int64_t now_ms);

// "<public_url>/v1/images/cache/<id>-": the URL of the entry's image i is this followed by i.
std::string cachedImageUrlBase(std::string_view public_url, std::string_view id);

}  // namespace arkroute
