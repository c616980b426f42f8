// The token Kling's API takes instead of a key: a JWT (HS256) naming the access key as issuer,
// valid from 5 s ago for 30 minutes, signed with the secret key (OpenSSL HMAC-SHA256).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace arkroute::kling {

// credentials is "ACCESS_KEY:SECRET_KEY" (checked when the config is loaded); now in Unix seconds.
std::string makeJwt(std::string_view credentials, int64_t now_unix_seconds);

}  // namespace arkroute::kling
