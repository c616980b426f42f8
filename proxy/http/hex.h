// Hex text for bytes: lowercase hex encoding, SHA-256 digests and random identifiers from
// OpenSSL. Shared by the layers that name things with hex (virtual keys, MCP sessions, tenants).
#pragma once

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace arkroute {

inline std::string toHex(const unsigned char* bytes, size_t length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xF]);
  }
  return out;
}

// Lowercase hex SHA-256 of text.
inline std::string sha256Hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return toHex(digest, sizeof digest);
}

// `bytes` bytes from OpenSSL's CSPRNG as hex; nullopt when the generator fails.
inline std::optional<std::string> randomHex(size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) return std::nullopt;
  return toHex(buffer.data(), bytes);
}

}  // namespace arkroute
