// The simulator's check of Kling's API tokens: an HS256 JWT (base64url header.payload.signature,
// no padding) signed with the secret key, whose payload names the access key as `iss` and is
// valid now (`exp` in the future, `nbf` at most 5 s ahead, for clock skew). Crypto is OpenSSL's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace arkroute::sim {

struct KlingKeys {
  std::string access_key = "sim-access-key";
  std::string secret_key = "sim-secret-key";
};

// Checks an Authorization header value ("Bearer <JWT>"; nullptr when the header is missing) at
// unix time `now` (seconds). Returns nullopt when valid, else what is wrong, for the 401 message.
std::optional<std::string> checkKlingAuthorization(const char* authorization, const KlingKeys& keys,
                                                   int64_t now);

// base64url without padding → bytes; nullopt for any other character, '=' or an impossible length.
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace arkroute::sim
