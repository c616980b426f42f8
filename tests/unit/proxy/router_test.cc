// Unit tests for routing (proxy/router.cc) and the runtime built from a config.
#include "proxy/router.h"

#include <gtest/gtest.h>

namespace arkroute {
namespace {

Config twoUpstreams() {
  Config config;
  config.upstreams.push_back(UpstreamConfig{.name = "openai"});
  config.upstreams.push_back(UpstreamConfig{.name = "byteplus"});
  config.models.push_back(
      ModelConfig{.name = "gpt-image-1", .upstream = "openai", .upstream_model = "gpt-image-1"});
  config.models.push_back(ModelConfig{
      .name = "seedream-4.5", .upstream = "byteplus", .upstream_model = "seedream-4-5-251128"});
  return config;
}

TEST(Router, MapsEachModelToItsUpstreamAndUpstreamModel) {
  Config config = twoUpstreams();
  Router router(config);
  const Route* seedream = router.find("seedream-4.5");
  ASSERT_NE(seedream, nullptr);
  EXPECT_EQ(seedream->upstream->name, "byteplus");
  EXPECT_EQ(seedream->upstream_index, 1u);
  EXPECT_EQ(seedream->model->upstream_model, "seedream-4-5-251128");
  EXPECT_EQ(router.find("gpt-image-1")->upstream_index, 0u);
  EXPECT_EQ(router.routes().size(), 2u);
}

TEST(Router, UnknownModelsAndNearMissesAreNotRouted) {
  Config config = twoUpstreams();
  Router router(config);
  EXPECT_EQ(router.find("gpt-image-2"), nullptr);
  EXPECT_EQ(router.find("GPT-IMAGE-1"), nullptr);
  EXPECT_EQ(router.find(""), nullptr);
}

}  // namespace
}  // namespace arkroute
