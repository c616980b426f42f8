// The cache key of an image request: a canonical text and its XXH3-128 digest. The text is
// versioned and holds the resolved upstream, the upstream model, the tenant and every body field
// that can change the output, serialised canonically (object keys sorted at every depth, no
// whitespace, strings escaped by simdjson, numbers normalised). Two requests that differ only in
// spelling share a key; any difference that can change the image splits it. Stores keep the text
// beside the record and compare it on lookup, so a digest collision is a miss, never a wrong image.
// Edits (multipart forms) have a key of their own shape: see makeEdit.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace arkroute::cache {

using Digest = std::array<uint8_t, 16>;

// Hash for unordered containers keyed by Digest: digests are already uniformly distributed.
struct DigestHash {
  size_t operator()(const Digest& digest) const {
    size_t value = 0;
    std::memcpy(&value, digest.data(), sizeof value);
    return value;
  }
};

// Top-level body fields left out of the key because they cannot change the stored output:
// `user` and `safety_identifier` identify the caller; `stream` and `partial_images` change only how
// the result is delivered (the complete result is what is stored); `model` is replaced by the
// resolved upstream model; `response_format` only changes how the gateway returns the stored image
// (it always fetches and stores base64 and turns it into its own URLs when asked).
inline constexpr std::string_view kFieldsNotInKey[] = {
    "user", "safety_identifier", "stream", "partial_images", "model", "response_format"};

// First line of every canonical text. Bump it whenever the canonical form changes: old records
// then simply stop matching (different digests) and age out.
inline constexpr std::string_view kKeyFormatVersion = "arkroute-cache-key/v2";

// One part of an edit's multipart/form-data body, as the key of an edit needs it.
struct EditFormPart {
  std::string_view name;
  bool is_file = false;
  std::string_view content_type;  // a file's Content-Type ("" when it has none)
  std::string_view value;         // a text field's value, or a file's bytes
  // A file's SHA-256 when the caller has computed it already (else makeEdit hashes value).
  const std::array<uint8_t, 32>* sha256 = nullptr;
};

class CacheKey {
 public:
  // Called once per cacheable request on the event loop, after routing. body is the parsed request
  // (an object; anything else is serialised whole). tenant is "" for cache scope "shared" and the
  // caller's identity for "per_key" (it is stored in plain text in the record: pass an id, not a
  // secret). The key owns copies of everything it needs; body may be freed afterwards.
  static CacheKey make(std::string_view upstream, std::string_view upstream_model,
                       simdjson::dom::element body, std::string_view tenant);

  // The key of an edit (POST /v1/images/edits): the same header lines, then every part but the
  // fields left out above, ordered by name (parts of a repeated name, image[], keep their order).
  // A text field is kept whole. A file is kept as its Content-Type, its length and the SHA-256 of
  // its bytes, not its file name: the canonical text stays small, and a digest that cannot be
  // forged keeps a crafted upload from taking another upload's entry in a shared cache.
  static CacheKey makeEdit(std::string_view upstream, std::string_view upstream_model,
                           std::span<const EditFormPart> parts, std::string_view tenant);

  // A key whose digest is given rather than computed from canonical: for tools that rebuild a key
  // from a stored record, and for tests that simulate a digest collision.
  static CacheKey fromParts(std::string canonical, const Digest& digest);

  const std::string& canonical() const { return canonical_; }
  const Digest& digest() const { return digest_; }
  // 32 lowercase hex characters; the id used in gateway-issued image URLs.
  std::string hex() const { return toHex(digest_); }
  static std::string toHex(const Digest& digest);
  // The digest of a 32-character hex id (either case); nullopt for anything else.
  static std::optional<Digest> parseHex(std::string_view hex);

 private:
  std::string canonical_;
  Digest digest_{};
};

// Appends the canonical JSON of value to out: object keys sorted at every depth, no whitespace,
// strings and keys escaped as simdjson::minify escapes them, numbers normalised (an integral
// value prints as an integer whatever its spelling; other doubles in shortest round-trip form).
void appendCanonicalJson(simdjson::dom::element value, std::string* out);

}  // namespace arkroute::cache
