// CacheKey: the canonical serialisation over simdjson's DOM and the XXH3-128 digest.
#include "cache/cache_key.h"

#include <openssl/sha.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace arkroute::cache {

namespace {

constexpr double kTwoTo63 = 9223372036854775808.0;
constexpr double kTwoTo64 = 18446744073709551616.0;

bool excludedFromKey(std::string_view field) {
  return std::find(std::begin(kFieldsNotInKey), std::end(kFieldsNotInKey), field) !=
         std::end(kFieldsNotInKey);
}

template <typename Number>
void appendWithToChars(Number value, std::string* out) {
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, result.ptr);
}

// An integral double prints exactly as the integer it is (1.0, 1e0 and 1 are one spelling);
// anything else prints in shortest round-trip form.
void appendDouble(double value, std::string* out) {
  if (std::isfinite(value) && value == std::trunc(value)) {
    if (value >= -kTwoTo63 && value < kTwoTo63) {
      appendWithToChars(static_cast<int64_t>(value), out);
      return;
    }
    if (value >= 0 && value < kTwoTo64) {
      appendWithToChars(static_cast<uint64_t>(value), out);
      return;
    }
  }
  appendWithToChars(value, out);
}

bool keyNeedsEscaping(std::string_view key) {
  return std::any_of(key.begin(), key.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
}

// Appends field's key as a JSON string. simdjson prints a pair as `"key":value`; when the key needs
// escaping, its escaped form is that output without the value's minified text and the colon.
void appendKey(simdjson::dom::key_value_pair field, std::string* out) {
  if (!keyNeedsEscaping(field.key)) {
    out->push_back('"');
    out->append(field.key);
    out->push_back('"');
    return;
  }
  std::string pair = simdjson::minify(field);
  std::string value = simdjson::minify(field.value);
  out->append(pair, 0, pair.size() - value.size() - 1);
}

void appendObject(simdjson::dom::object object, bool top_level, std::string* out) {
  std::vector<simdjson::dom::key_value_pair> fields;
  for (simdjson::dom::key_value_pair field : object) {
    if (top_level && excludedFromKey(field.key)) continue;
    fields.push_back(field);
  }
  std::stable_sort(fields.begin(), fields.end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
  out->push_back('{');
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    appendKey(fields[i], out);
    out->push_back(':');
    appendCanonicalJson(fields[i].value, out);
  }
  out->push_back('}');
}

void appendArray(simdjson::dom::array array, std::string* out) {
  out->push_back('[');
  bool first = true;
  for (simdjson::dom::element item : array) {
    if (!first) out->push_back(',');
    first = false;
    appendCanonicalJson(item, out);
  }
  out->push_back(']');
}

// One header line: name, '=', the value's length, ':', the value. The length keeps the text
// unambiguous whatever the value contains.
void appendHeaderLine(std::string_view name, std::string_view value, std::string* out) {
  out->append(name).push_back('=');
  appendWithToChars(value.size(), out);
  out->push_back(':');
  out->append(value).push_back('\n');
}

// A length-prefixed value: "5:hello". Unambiguous whatever the value contains.
void appendCounted(std::string_view value, std::string* out) {
  appendWithToChars(value.size(), out);
  out->push_back(':');
  out->append(value);
}

// Lowercase hex of bytes, appended to out.
void appendHex(const uint8_t* bytes, size_t length, std::string* out) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < length; ++i) {
    out->push_back(kHexDigits[bytes[i] >> 4]);
    out->push_back(kHexDigits[bytes[i] & 15]);
  }
}

void appendSha256Hex(std::string_view bytes, std::string* out) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  appendHex(digest, sizeof digest, out);
}

// The name a part has in the key: "image[]" is "image" (the Images API reads one file the same
// under either name, and SDKs pick one or the other), every other name is itself.
std::string_view keyName(std::string_view name) {
  return name == "image[]" ? std::string_view("image") : name;
}

// "text 6:prompt 9:a red hat" or "file 5:image 9:image/png 1234 sha256:<hex>", one line each.
void appendEditPart(const EditFormPart& part, std::string* out) {
  out->append(part.is_file ? "file " : "text ");
  appendCounted(keyName(part.name), out);
  out->push_back(' ');
  if (part.is_file) {
    appendCounted(part.content_type, out);
    out->push_back(' ');
    appendWithToChars(part.value.size(), out);
    out->append(" sha256:");
    if (part.sha256) {
      appendHex(part.sha256->data(), part.sha256->size(), out);
    } else {
      appendSha256Hex(part.value, out);
    }
  } else {
    appendCounted(part.value, out);
  }
  out->push_back('\n');
}

Digest xxh3Digest(const std::string& text) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(text.data(), text.size()));
  Digest digest;
  std::copy(std::begin(canonical.digest), std::end(canonical.digest), digest.begin());
  return digest;
}

std::string headerLines(std::string_view upstream, std::string_view upstream_model,
                        std::string_view tenant) {
  std::string text;
  text.reserve(512);  // a typical request's key text, without growing it step by step
  text.append(kKeyFormatVersion).push_back('\n');
  appendHeaderLine("upstream", upstream, &text);
  appendHeaderLine("upstream_model", upstream_model, &text);
  appendHeaderLine("tenant", tenant, &text);
  return text;
}

}  // namespace

void appendCanonicalJson(simdjson::dom::element value, std::string* out) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::OBJECT:
      appendObject(value.get_object().value_unsafe(), false, out);
      return;
    case element_type::ARRAY:
      appendArray(value.get_array().value_unsafe(), out);
      return;
    case element_type::INT64:
      appendWithToChars(value.get_int64().value_unsafe(), out);
      return;
    case element_type::UINT64:
      appendWithToChars(value.get_uint64().value_unsafe(), out);
      return;
    case element_type::DOUBLE:
      appendDouble(value.get_double().value_unsafe(), out);
      return;
    case element_type::STRING:
    case element_type::BOOL:
    case element_type::NULL_VALUE:
      out->append(simdjson::minify(value));
      return;
  }
}

CacheKey CacheKey::make(std::string_view upstream, std::string_view upstream_model,
                        simdjson::dom::element body, std::string_view tenant) {
  std::string text = headerLines(upstream, upstream_model, tenant);
  text.append("body=");
  if (body.type() == simdjson::dom::element_type::OBJECT) {
    appendObject(body.get_object().value_unsafe(), true, &text);
  } else {
    appendCanonicalJson(body, &text);
  }
  Digest digest = xxh3Digest(text);
  return fromParts(std::move(text), digest);
}

CacheKey CacheKey::makeEdit(std::string_view upstream, std::string_view upstream_model,
                            std::span<const EditFormPart> parts, std::string_view tenant) {
  std::vector<const EditFormPart*> kept;
  for (const EditFormPart& part : parts) {
    if (!excludedFromKey(part.name)) kept.push_back(&part);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const EditFormPart* a, const EditFormPart* b) {
    return keyName(a->name) < keyName(b->name);
  });
  std::string text = headerLines(upstream, upstream_model, tenant);
  text.append("edit\n");
  for (const EditFormPart* part : kept) appendEditPart(*part, &text);
  Digest digest = xxh3Digest(text);
  return fromParts(std::move(text), digest);
}

CacheKey CacheKey::fromParts(std::string canonical, const Digest& digest) {
  CacheKey key;
  key.canonical_ = std::move(canonical);
  key.digest_ = digest;
  return key;
}

std::string CacheKey::toHex(const Digest& digest) {
  std::string out;
  out.reserve(digest.size() * 2);
  appendHex(digest.data(), digest.size(), &out);
  return out;
}

std::optional<Digest> CacheKey::parseHex(std::string_view hex) {
  Digest digest;
  if (hex.size() != digest.size() * 2) return std::nullopt;
  for (size_t i = 0; i < digest.size(); ++i) {
    const char* begin = hex.data() + 2 * i;
    auto [end, error] = std::from_chars(begin, begin + 2, digest[i], 16);
    if (error != std::errc() || end != begin + 2) return std::nullopt;
  }
  return digest;
}

}  // namespace arkroute::cache
