// Kling token checks for the simulator: base64url (OpenSSL's decoder), HMAC-SHA256 with a
// constant-time compare, and the header and claims read with simdjson.
#include "tests/sim/sim_kling_jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>

namespace arkroute::sim {

namespace {

constexpr int64_t kNbfSkewSeconds = 5;

bool isBase64UrlChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool startsWithBearer(std::string_view value) {
  constexpr std::string_view kBearer = "bearer ";
  if (value.size() <= kBearer.size()) return false;
  return std::equal(kBearer.begin(), kBearer.end(), value.begin(), [](char want, char got) {
    return want == std::tolower(static_cast<unsigned char>(got));
  });
}

// Reads a numeric claim (integer or not) into *out; false when absent or not a number.
bool readNumber(simdjson::dom::element root, const char* key, double* out) {
  simdjson::dom::element value;
  if (root[key].get(value) != simdjson::SUCCESS || !value.is_number()) return false;
  return value.get(*out) == simdjson::SUCCESS;
}

std::optional<std::string> checkHeader(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view alg;
  if (parser.parse(json).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return "token header is not a JSON object";
  }
  if (root["alg"].get(alg) != simdjson::SUCCESS || alg != "HS256") {
    return "token header alg is not HS256";
  }
  return std::nullopt;
}

bool signatureMatches(std::string_view signed_part, const std::string& signature,
                      const std::string& secret_key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  if (!HMAC(EVP_sha256(), secret_key.data(), static_cast<int>(secret_key.size()),
            reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
            &mac_length)) {
    return false;
  }
  return signature.size() == mac_length && CRYPTO_memcmp(signature.data(), mac, mac_length) == 0;
}

std::optional<std::string> checkClaims(const std::string& json, const std::string& access_key,
                                       int64_t now) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return "token payload is not a JSON object";
  }
  std::string_view iss;
  if (root["iss"].get(iss) != simdjson::SUCCESS) return "token has no iss";
  if (iss != access_key) return "iss is not the access key";
  double exp = 0, nbf = 0;
  if (!readNumber(root, "exp", &exp)) return "token has no numeric exp";
  if (!readNumber(root, "nbf", &nbf)) return "token has no numeric nbf";
  if (exp <= static_cast<double>(now)) return "token expired";
  if (nbf > static_cast<double>(now + kNbfSkewSeconds)) return "token not yet valid (nbf)";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1 || !std::all_of(text.begin(), text.end(), isBase64UrlChar)) {
    return std::nullopt;
  }
  std::string standard(text);
  std::replace(standard.begin(), standard.end(), '-', '+');
  std::replace(standard.begin(), standard.end(), '_', '/');
  size_t padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::string bytes(standard.size() / 4 * 3, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                               reinterpret_cast<const unsigned char*>(standard.data()),
                               static_cast<int>(standard.size()));
  if (length < 0) return std::nullopt;
  bytes.resize(static_cast<size_t>(length) - padding);  // EVP_DecodeBlock counts padding as zeros
  return bytes;
}

std::optional<std::string> checkKlingAuthorization(const char* authorization, const KlingKeys& keys,
                                                   int64_t now) {
  if (!authorization || !*authorization) return "missing Authorization";
  std::string_view value(authorization);
  if (!startsWithBearer(value)) return "Authorization is not \"Bearer <token>\"";
  std::string_view token = value.substr(7);
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return "token is not a JWT (header.payload.signature)";
  }
  auto header = base64UrlDecode(token.substr(0, first));
  auto payload = base64UrlDecode(token.substr(first + 1, second - first - 1));
  auto signature = base64UrlDecode(token.substr(second + 1));
  if (!header || !payload || !signature) return "token is not base64url without padding";
  if (auto why = checkHeader(*header)) return why;
  if (!signatureMatches(token.substr(0, second), *signature, keys.secret_key)) {
    return "signature invalid";
  }
  return checkClaims(*payload, keys.access_key, now);
}

}  // namespace arkroute::sim
