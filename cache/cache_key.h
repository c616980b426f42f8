// The cache key of an image request: a canonical text (versioned; upstream, upstream model, tenant
// and every output-affecting body field with object keys sorted, no whitespace, numbers
// normalised) and its XXH3-128 digest. Two requests that differ only in spelling share a key; any
// difference that can change the image splits it.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace arkroute::cache {

using Digest = std::array<uint8_t, 16>;

// Body fields that cannot change the generated image and are left out of the key. `model` is
// replaced by the resolved upstream model; `response_format` only changes how the gateway returns
// the stored image (it always stores base64).
inline constexpr std::string_view kFieldsNotInKey[] = {
    "user", "safety_identifier", "stream", "partial_images", "model", "response_format"};

inline constexpr std::string_view kKeyFormatVersion = "arkroute-cache-key/v1";

class CacheKey {
 public:
  // body must be a JSON object. tenant is "" for the shared scope.
  static CacheKey make(std::string_view upstream, std::string_view upstream_model,
                       simdjson::dom::element body, std::string_view tenant);

  const std::string& canonical() const { return canonical_; }
  const Digest& digest() const { return digest_; }
  std::string hex() const;
  static std::optional<Digest> parseHex(std::string_view hex);
  static std::string toHex(const Digest& digest);

 private:
  std::string canonical_;
  Digest digest_{};
};

// Appends the canonical JSON of value (sorted keys, no spaces, normalised numbers) to out.
void appendCanonicalJson(simdjson::dom::element value, std::string* out);

}  // namespace arkroute::cache
