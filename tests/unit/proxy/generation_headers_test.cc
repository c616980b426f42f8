// Unit tests for which headers cross the gateway: hop-by-hop fields and credentials stay behind,
// and the gateway's own response headers are never doubled by an upstream's copies.
#include "proxy/generation_headers.h"

#include <gtest/gtest.h>

#include <vector>

namespace arkroute {
namespace {

std::vector<std::string> names(const http::Headers& headers) {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) out.push_back(name);
  return out;
}

TEST(GenerationHeaders, ClientHeadersForwardedWithoutCredentialsOrFraming) {
  http::Headers in;
  in.add("Content-Type", "application/json");
  in.add("Authorization", "Bearer client-secret");
  in.add("Host", "gateway.local");
  in.add("Content-Length", "12");
  in.add("Connection", "keep-alive");
  in.add("X-Custom", "kept");
  http::Headers out;
  copyForwardableHeaders(in, &out);
  EXPECT_EQ(names(out), (std::vector<std::string>{"Content-Type", "X-Custom"}));
}

// The caller adds x-request-id and X-ArkRoute-{Model,Cache,Cost-USD} without searching, so an
// upstream's copies (another ArkRoute in front of the provider) must not come through.
TEST(GenerationHeaders, UpstreamCopiesOfTheGatewaysOwnHeadersAreDropped) {
  http::Headers in;
  in.add("Content-Type", "application/json");
  in.add("X-Request-Id", "upstream-id");
  in.add("x-arkroute-model", "other-model");
  in.add("X-ArkRoute-Cache", "HIT");
  in.add("X-ARKROUTE-COST-USD", "0.000000");
  in.add("X-ArkRoute-Saved-USD", "0.040000");
  in.add("x-ratelimit-remaining-requests", "9");
  in.add("Transfer-Encoding", "chunked");
  http::Headers out;
  copyReturnableHeaders(in, &out);
  EXPECT_EQ(names(out),
            (std::vector<std::string>{"Content-Type", "X-ArkRoute-Saved-USD",
                                      "x-ratelimit-remaining-requests", "x-upstream-request-id"}));
  EXPECT_EQ(out.get("x-upstream-request-id"), "upstream-id");
}

}  // namespace
}  // namespace arkroute
