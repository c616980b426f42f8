// Parses Cache-Control directives and the TTL override header.
#include "proxy/cache_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

namespace arkroute {

namespace {

// True when the comma-separated Cache-Control value lists directive (case-insensitive).
bool hasDirective(std::string_view value, std::string_view directive) {
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view token = value.substr(start, end - start);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) {
      token.remove_prefix(1);
    }
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
      token.remove_suffix(1);
    }
    if (http::equalsIgnoreCase(token, directive)) return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

CachePolicy CachePolicy::fromHeaders(const http::Headers& headers) {
  CachePolicy policy;
  std::string_view cache_control = headers.get("cache-control");
  if (hasDirective(cache_control, "no-store")) {
    policy.read = false;
    policy.write = false;
  } else if (hasDirective(cache_control, "no-cache")) {
    policy.read = false;
  }
  std::string_view ttl = headers.get("x-arkroute-cache-ttl");
  int64_t seconds = -1;
  auto [end, error] = std::from_chars(ttl.data(), ttl.data() + ttl.size(), seconds);
  if (!ttl.empty() && error == std::errc() && end == ttl.data() + ttl.size() && seconds >= 0) {
    // Longer than any configured ttl means the configured one; capped so that milliseconds fit.
    constexpr int64_t kLongest = int64_t{100} * 365 * 86'400;  // 100 years
    policy.ttl = std::chrono::seconds(std::min(seconds, kLongest));
    if (seconds == 0) policy.write = false;
  }
  return policy;
}

std::chrono::milliseconds CachePolicy::effectiveTtl(std::chrono::milliseconds configured) const {
  return ttl ? std::min(*ttl, configured) : configured;
}

}  // namespace arkroute
