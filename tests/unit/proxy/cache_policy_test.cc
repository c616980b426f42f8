// Unit tests for per-request cache control headers (proxy/cache_policy.cc).
#include "proxy/cache_policy.h"

#include <gtest/gtest.h>

namespace arkroute {
namespace {

using namespace std::chrono_literals;

CachePolicy policyFor(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::Headers headers;
  for (auto [name, value] : fields) headers.add(name, value);
  return CachePolicy::fromHeaders(headers);
}

TEST(CachePolicy, ReadsAndWritesByDefault) {
  CachePolicy policy = policyFor({});
  EXPECT_TRUE(policy.read);
  EXPECT_TRUE(policy.write);
  EXPECT_EQ(policy.effectiveTtl(3600s), 3600s);
}

TEST(CachePolicy, NoCacheSkipsTheLookupButRefreshesTheEntry) {
  CachePolicy policy = policyFor({{"Cache-Control", "max-age=0, No-Cache"}});
  EXPECT_FALSE(policy.read);
  EXPECT_TRUE(policy.write);
}

TEST(CachePolicy, NoStoreNeitherReadsNorWrites) {
  CachePolicy policy = policyFor({{"cache-control", "no-store"}});
  EXPECT_FALSE(policy.read);
  EXPECT_FALSE(policy.write);
}

TEST(CachePolicy, TtlHeaderShortensButNeverLengthens) {
  EXPECT_EQ(policyFor({{"X-ArkRoute-Cache-TTL", "60"}}).effectiveTtl(3600s), 60s);
  EXPECT_EQ(policyFor({{"X-ArkRoute-Cache-TTL", "99999"}}).effectiveTtl(3600s), 3600s);
  EXPECT_EQ(policyFor({{"X-ArkRoute-Cache-TTL", "soon"}}).effectiveTtl(3600s), 3600s);
  EXPECT_EQ(policyFor({{"X-ArkRoute-Cache-TTL", "-5"}}).effectiveTtl(3600s), 3600s);
  EXPECT_FALSE(policyFor({{"X-ArkRoute-Cache-TTL", "0"}}).write);
  // Seconds whose milliseconds do not fit in 64 bits (undefined before) mean the configured ttl.
  EXPECT_EQ(policyFor({{"X-ArkRoute-Cache-TTL", "9223372036854775807"}}).effectiveTtl(3600s),
            3600s);
  EXPECT_EQ(policyFor({{"X-ArkRoute-Cache-TTL", "9300000000000000"}}).effectiveTtl(3600s), 3600s);
}

}  // namespace
}  // namespace arkroute
