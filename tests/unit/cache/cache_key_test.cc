// Unit tests for cache keys: equivalent spellings share a key; output-affecting differences split.
#include "cache/cache_key.h"

#include <gtest/gtest.h>

namespace arkroute::cache {
namespace {

std::string hexFor(const std::string& body, std::string upstream = "sim",
                   std::string model = "gpt-image-1", std::string tenant = "") {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(body).value();
  return CacheKey::make(upstream, model, root, tenant).hex();
}

const char kBase[] =
    R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1,"background":"auto","output_format":"png","seed":7})";

TEST(CacheKey, EquivalentSpellingsShareAKey) {
  std::string base = hexFor(kBase);
  EXPECT_EQ(hexFor(R"({ "seed" : 7, "n" : 1.0, "output_format":"png", "background":"auto",
                       "quality":"high", "size":"1024x1024", "prompt":"a fox" })"),
            base);
  EXPECT_EQ(
      hexFor(
          R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1e0,"background":"auto","output_format":"png","seed":7.0})"),
      base);
  EXPECT_EQ(hexFor(R"({"a":{"y":1,"x":[2,{"q":1,"p":2}]},"prompt":"p"})"),
            hexFor(R"({"prompt":"p","a":{"x":[2,{"p":2,"q":1}],"y":1}})"));
}

TEST(CacheKey, FieldsThatCannotChangeTheImageAreLeftOut) {
  std::string base = hexFor(kBase);
  std::string with_extras = kBase;
  with_extras.insert(1, R"("user":"u1","safety_identifier":"s","stream":true,"partial_images":2,)"
                        R"("model":"alias","response_format":"url",)");
  EXPECT_EQ(hexFor(with_extras), base);
}

TEST(CacheKey, EachOutputAffectingDifferenceSplitsTheKey) {
  std::string base = hexFor(kBase);
  const char* variants[] = {
      R"({"prompt":"a fox!","size":"1024x1024","quality":"high","n":1,"background":"auto","output_format":"png","seed":7})",
      R"({"prompt":"a fox","size":"1536x1024","quality":"high","n":1,"background":"auto","output_format":"png","seed":7})",
      R"({"prompt":"a fox","size":"1024x1024","quality":"low","n":1,"background":"auto","output_format":"png","seed":7})",
      R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":2,"background":"auto","output_format":"png","seed":7})",
      R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1,"background":"transparent","output_format":"png","seed":7})",
      R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1,"background":"auto","output_format":"webp","seed":7})",
      R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1,"background":"auto","output_format":"png","seed":8})",
      R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1,"background":"auto","output_format":"png","seed":7,"watermark":false})",
  };
  for (const char* variant : variants) EXPECT_NE(hexFor(variant), base) << variant;
  EXPECT_NE(hexFor(kBase, "other-upstream"), base);
  EXPECT_NE(hexFor(kBase, "sim", "gpt-image-1-mini"), base);
  EXPECT_NE(hexFor(kBase, "sim", "gpt-image-1", "tenant-a"), base);
}

TEST(CacheKey, CanonicalTextIsVersionedAndHexRoundTrips) {
  simdjson::dom::parser parser;
  std::string body = R"({"prompt":"p","n":2.5})";
  CacheKey key = CacheKey::make("sim", "m", parser.parse(body).value(), "");
  EXPECT_EQ(key.canonical().rfind(std::string(kKeyFormatVersion), 0), 0u);
  EXPECT_NE(key.canonical().find(R"("n":2.5)"), std::string::npos);
  EXPECT_EQ(key.hex().size(), 32u);
  EXPECT_EQ(CacheKey::parseHex(key.hex()).value(), key.digest());
  EXPECT_FALSE(CacheKey::parseHex("xyz").has_value());
  EXPECT_FALSE(CacheKey::parseHex(std::string(32, 'g')).has_value());
}

}  // namespace
}  // namespace arkroute::cache
