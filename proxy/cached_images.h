// The cache's images by id, as in the gateway's image URLs (<public_url>/v1/images/cache/<id>):
// "<entry digest hex>-<version>-<index>", where the version (the entry's creation time, in hex)
// tells one generation of a request from the next, so an id names the bytes, not the request.
// Ids handed out before versions existed ("<digest>-<index>") still resolve, to whatever entry
// holds that request now. Parsed here, and read back as image bytes.
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
  std::optional<int64_t> created_ms;  // the version; unset in an unversioned id
  size_t index;
};

// "<digest hex>-<version>": the id of the entry (the images' ids add "-<index>").
std::string cachedEntryId(const cache::CacheKey& key, const cache::CacheEntry& entry);

// The id of image.index in entry (found under image.digest), versioned.
std::string versionedImageId(const CachedImageId& image, const cache::CacheEntry& entry);

// The id's parts; nullopt when it is not "<32 hex digits>[-<1 to 15 hex digits>]-<index below
// 1000>".
std::optional<CachedImageId> parseCachedImageId(std::string_view id);

// The id in a gateway image URL (anything up to "/v1/images/cache/", then the id), or the text
// itself when it is an id; nullopt for anything else.
std::optional<CachedImageId> cachedImageIdIn(std::string_view url_or_id);

struct CachedImage {
  std::string bytes;       // decoded
  std::string version_id;  // the image's versioned id (its ETag)
};

// The decoded image, when the entry is there, is the version the id names (if it names one) and
// has that image. May wait on the disk: call it off the event loop.
std::optional<CachedImage> cachedImage(cache::CacheStore& store, const CachedImageId& image,
                                       int64_t now_ms);

// "<public_url>/v1/images/cache/<id>-": the URL of the entry's image i is this followed by i.
std::string cachedImageUrlBase(std::string_view public_url, std::string_view id);

}  // namespace arkroute
