// Unit tests for which headers cross the gateway: hop-by-hop fields and credentials stay behind,
// and the gateway's own response headers are never doubled by an upstream's copies.
#include "proxy/generation_headers.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <utility>
#include <vector>

namespace arkroute {
namespace {

http::Headers headersOf(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::Headers headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

std::vector<std::string> names(const http::Headers& headers) {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) out.emplace_back(name);
  return out;
}

TEST(GenerationHeaders, ClientHeadersForwardedWithoutCredentialsOrFraming) {
  http::Headers in = headersOf({{"Content-Type", "application/json"},
                                {"Authorization", "Bearer client-secret"},
                                {"Host", "gateway.local"},
                                {"Content-Length", "12"},
                                {"Connection", "keep-alive"},
                                {"Transfer-Encoding ", "chunked"},
                                {"X-Custom", "kept"}});
  http::Headers out;
  copyForwardableHeaders(in, &out);
  EXPECT_EQ(names(out), (std::vector<std::string>{"Content-Type", "X-Custom"}));
}

// The caller adds x-request-id and X-ArkRoute-{Model,Cache,Cost-USD} without searching, so an
// upstream's copies (another ArkRoute in front of the provider) must not come through.
TEST(GenerationHeaders, UpstreamCopiesOfTheGatewaysOwnHeadersAreDropped) {
  http::Headers in = headersOf({{"Content-Type", "application/json"},
                                {"X-Request-Id", "upstream-id"},
                                {"x-arkroute-model", "other-model"},
                                {"X-ArkRoute-Cache", "HIT"},
                                {"X-ARKROUTE-COST-USD", "0.000000"},
                                {"X-ArkRoute-Saved-USD", "0.040000"},
                                {"x-ratelimit-remaining-requests", "9"},
                                {"Transfer-Encoding", "chunked"},
                                {"Transfer-Encoding ", "chunked"},
                                {"X Spaced", "dropped"}});
  http::Headers out;
  copyReturnableHeaders(in, &out);
  EXPECT_EQ(names(out),
            (std::vector<std::string>{"Content-Type", "X-ArkRoute-Saved-USD",
                                      "x-ratelimit-remaining-requests", "x-upstream-request-id"}));
  EXPECT_EQ(out.get("x-upstream-request-id"), "upstream-id");
}

}  // namespace
}  // namespace arkroute
