// The cache's images by id, as in the gateway's image URLs (<public_url>/v1/images/cache/<id>):
// "<entry digest hex>-<version>-<tag>-<index>". The version (the entry's creation time, in hex)
// tells one generation of a request from the next, so an id names the bytes, not the request. The
// tag (an HMAC of digest and version under the cache's URL secret) makes an id unguessable: the
// digest alone can be computed by anyone who guesses a request, and the images endpoint asks for
// no key. Parsed here, and read back as image bytes.
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
  int64_t created_ms;  // the version
  std::string tag;     // 16 hex digits
  size_t index;
};

// "<digest hex>-<version>-<tag>": the id of the entry (the images' ids add "-<index>").
std::string cachedEntryId(const cache::CacheStore& store, const cache::CacheKey& key,
                          const cache::CacheEntry& entry);

// The id of image.index in entry (found under image.digest).
std::string versionedImageId(const CachedImageId& image, const cache::CacheEntry& entry);

// The id's parts; nullopt when it is not "<32 hex digits>-<1 to 15 hex digits>-<16 hex
// digits>-<index below 1000>". Ids handed out before tags existed are refused.
std::optional<CachedImageId> parseCachedImageId(std::string_view id);

// The id in a gateway image URL (anything up to "/v1/images/cache/", then the id), or the text
// itself when it is an id; nullopt for anything else.
std::optional<CachedImageId> cachedImageIdIn(std::string_view url_or_id);

struct CachedImage {
  std::string bytes;       // decoded
  std::string version_id;  // the image's versioned id (its ETag)
};

// The decoded image, when the id's tag is the store's for it, the entry is there, is the version
// the id names and has that image. May wait on the disk: call it off the event loop.
std::optional<CachedImage> cachedImage(cache::CacheStore& store, const CachedImageId& image,
                                       int64_t now_ms);

// "<public_url>/v1/images/cache/<id>-": the URL of the entry's image i is this followed by i.
std::string cachedImageUrlBase(std::string_view public_url, std::string_view id);

}  // namespace arkroute
