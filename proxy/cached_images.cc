// Cached image ids and URLs, and reading an image back from its cache entry.
#include "proxy/cached_images.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "proxy/image_response.h"

namespace arkroute {

namespace {

// Up to 15 lowercase hex digits (a creation time in ms fits in 11 for millennia); no sign.
// Every number as the gateway writes it: no leading zeros, so an image has one id.
std::optional<int64_t> parseVersion(std::string_view text) {
  if (text.empty() || text.size() > 15 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + digit;
  }
  return value;
}

std::optional<size_t> parseIndex(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  size_t index = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || index >= 100) return std::nullopt;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  return index;
}

std::string versionText(int64_t created_ms) {
  char text[24];
  int length =
      std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(created_ms));
  return std::string(text, static_cast<size_t>(length));
}

constexpr size_t kTagBytes = 8;  // 64 bits: guessing one takes 2^63 requests on average

// The first kTagBytes of HMAC-SHA256(secret, digest bytes + "-" + version text), in hex.
std::string entryTag(std::string_view secret, const cache::Digest& digest, int64_t created_ms) {
  std::string message(reinterpret_cast<const char*>(digest.data()), digest.size());
  message.append("-").append(versionText(created_ms));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  for (size_t i = 0; i < kTagBytes; ++i) {
    tag.push_back(kHex[mac[i] >> 4]);
    tag.push_back(kHex[mac[i] & 15]);
  }
  return tag;
}

bool isTag(std::string_view text) {
  return text.size() == 2 * kTagBytes && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string cachedEntryId(const cache::CacheStore& store, const cache::CacheKey& key,
                          const cache::CacheEntry& entry) {
  return key.hex() + "-" + versionText(entry.created_ms) + "-" +
         entryTag(store.urlSecret(), key.digest(), entry.created_ms);
}

std::string versionedImageId(const CachedImageId& image, const cache::CacheEntry& entry) {
  return cache::CacheKey::toHex(image.digest) + "-" + versionText(entry.created_ms) + "-" +
         image.tag + "-" + std::to_string(image.index);
}

std::optional<CachedImageId> parseCachedImageId(std::string_view id) {
  std::string_view parts[4];
  for (size_t i = 0; i < 3; ++i) {
    size_t dash = id.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    parts[i] = id.substr(0, dash);
    id.remove_prefix(dash + 1);
  }
  parts[3] = id;
  auto digest = cache::CacheKey::parseHex(parts[0]);
  auto version = parseVersion(parts[1]);
  auto index = parseIndex(parts[3]);
  if (!digest || !version || !isTag(parts[2]) || !index) return std::nullopt;
  return CachedImageId{*digest, *version, std::string(parts[2]), *index};
}

std::optional<CachedImageId> cachedImageIdIn(std::string_view url_or_id) {
  size_t path = url_or_id.find(kCachedImagePath);
  if (path != std::string_view::npos) url_or_id.remove_prefix(path + kCachedImagePath.size());
  return parseCachedImageId(url_or_id);
}

std::optional<CachedImage> cachedImage(cache::CacheStore& store, const CachedImageId& image,
                                       int64_t now_ms) {
  std::string expected = entryTag(store.urlSecret(), image.digest, image.created_ms);
  if (image.tag.size() != expected.size() ||
      CRYPTO_memcmp(expected.data(), image.tag.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  auto found = store.lookupByDigest(image.digest, now_ms);
  if (!found.entry) return std::nullopt;
  // A later generation of the same request holds other bytes than the ones this id was given for.
  if (image.created_ms != found.entry->created_ms) return std::nullopt;
  auto bytes = imageBytes(found.entry->body, image.index);
  if (!bytes) return std::nullopt;
  return CachedImage{std::move(*bytes), versionedImageId(image, *found.entry)};
}

std::string cachedImageUrlBase(std::string_view public_url, std::string_view id) {
  std::string base(public_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  base.append(kCachedImagePath).append(id).append("-");
  return base;
}

}  // namespace arkroute
