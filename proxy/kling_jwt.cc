// Kling's JWT: base64url(header).base64url(claims).base64url(HMAC-SHA256(secret, both)).
#include "proxy/kling_jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "proxy/image_response.h"

namespace arkroute::kling {

namespace {

std::string base64Url(std::string_view bytes) {
  std::string text = encodeBase64(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

}  // namespace

std::string makeJwt(std::string_view credentials, int64_t now) {
  size_t colon = credentials.find(':');
  std::string_view access = credentials.substr(0, colon);
  std::string_view secret = colon == std::string_view::npos ? "" : credentials.substr(colon + 1);
  std::string claims =
      nlohmann::json{{"iss", std::string(access)}, {"exp", now + 1800}, {"nbf", now - 5}}.dump();
  std::string signing_input = base64Url(R"({"alg":"HS256","typ":"JWT"})") + "." + base64Url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &mac_length);
  return signing_input + "." +
         base64Url(std::string_view(reinterpret_cast<const char*>(mac), mac_length));
}

}  // namespace arkroute::kling
