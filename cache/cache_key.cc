// Canonical serialisation with simdjson's DOM and the XXH3-128 digest.
#include "cache/cache_key.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace arkroute::cache {

namespace {

bool excluded(std::string_view key) {
  return std::find(std::begin(kFieldsNotInKey), std::end(kFieldsNotInKey), key) !=
         std::end(kFieldsNotInKey);
}

void appendNumber(double value, std::string* out) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9.0e15) {
    out->append(std::to_string(static_cast<int64_t>(value)));
    return;
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, result.ptr);
}

void appendObject(simdjson::dom::object object, bool top_level, std::string* out) {
  std::vector<std::pair<std::string_view, simdjson::dom::element>> fields;
  for (auto field : object) {
    if (top_level && excluded(field.key)) continue;
    fields.emplace_back(field.key, field.value);
  }
  std::sort(fields.begin(), fields.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out->push_back('{');
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out->push_back(',');
    out->push_back('"');
    // Keys come unescaped from simdjson: escape them the way simdjson escapes strings.
    for (char c : fields[i].first) {
      if (c == '"' || c == '\\') out->push_back('\\');
      if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
        out->append(escaped);
        continue;
      }
      out->push_back(c);
    }
    out->append("\":");
    appendCanonicalJson(fields[i].second, out);
  }
  out->push_back('}');
}

}  // namespace

void appendCanonicalJson(simdjson::dom::element value, std::string* out) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::OBJECT:
      appendObject(value.get_object().value(), false, out);
      return;
    case element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      simdjson::dom::array items = value.get_array().value();  // not a temporary in range-for
      for (auto item : items) {
        if (!first) out->push_back(',');
        first = false;
        appendCanonicalJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case element_type::INT64:
      appendNumber(double(value.get_int64().value()), out);
      return;
    case element_type::UINT64:
      appendNumber(double(value.get_uint64().value()), out);
      return;
    case element_type::DOUBLE:
      appendNumber(value.get_double().value(), out);
      return;
    default:
      out->append(simdjson::minify(value));
      return;  // strings, booleans, null
  }
}

CacheKey CacheKey::make(std::string_view upstream, std::string_view upstream_model,
                        simdjson::dom::element body, std::string_view tenant) {
  CacheKey key;
  std::string& text = key.canonical_;
  text.append(kKeyFormatVersion).append("\nupstream=").append(upstream);
  text.append("\nmodel=").append(upstream_model).append("\ntenant=").append(tenant);
  text.append("\nbody=");
  simdjson::dom::object object;
  if (body.get_object().get(object) == simdjson::SUCCESS) {
    appendObject(object, true, &text);
  } else {
    appendCanonicalJson(body, &text);
  }
  XXH128_hash_t hash = XXH3_128bits(text.data(), text.size());
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  std::copy(std::begin(canonical.digest), std::end(canonical.digest), key.digest_.begin());
  return key;
}

std::string CacheKey::toHex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : digest) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 15]);
  }
  return out;
}

std::string CacheKey::hex() const {
  return toHex(digest_);
}

std::optional<Digest> CacheKey::parseHex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  Digest digest;
  for (size_t i = 0; i < 16; ++i) {
    auto [end, error] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, digest[i], 16);
    if (error != std::errc() || end != hex.data() + 2 * i + 2) return std::nullopt;
  }
  return digest;
}

}  // namespace arkroute::cache
