// CacheKey: equivalent spellings share a key, every output-affecting difference splits it, the
// canonical text has the documented form, and the digest and hex id are XXH3-128 of that text.
#include "cache/cache_key.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace arkroute::cache {
namespace {

struct KeyInput {
  std::string body;
  std::string upstream = "sim";
  std::string upstream_model = "gpt-image-1";
  std::string tenant;
};

CacheKey keyOf(const KeyInput& input) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(input.body).get(root), simdjson::SUCCESS) << input.body;
  return CacheKey::make(input.upstream, input.upstream_model, root, input.tenant);
}

std::string hexOf(const std::string& body) {
  return keyOf(KeyInput{body}).hex();
}

const std::string kBase =
    R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1,"background":"auto",)"
    R"("output_format":"png","seed":7,"style":{"palette":["red","blue"],"mood":"calm"}})";

TEST(CacheKey, EquivalentSpellingsShareAKey) {
  const std::string same_as_base[] = {
      // key order and whitespace
      R"({ "seed" : 7, "style": {"mood":"calm", "palette":["red","blue"]}, "n" : 1,
           "output_format":"png", "background":"auto", "quality":"high", "size":"1024x1024",
           "prompt":"a fox" })",
      // 1 vs 1.0 vs 1e0, 7 vs 7.0 vs 70e-1
      R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1.0,"background":"auto",)"
      R"("output_format":"png","seed":70e-1,"style":{"palette":["red","blue"],"mood":"calm"}})",
      R"({"prompt":"a fox","size":"1024x1024","quality":"high","n":1e0,"background":"auto",)"
      R"("output_format":"png","seed":7.0,"style":{"palette":["red","blue"],"mood":"calm"}})",
      // string escapes that spell the same text
      R"({"prompt":"a \u0066ox","size":"1024x1024","quality":"high","n":1,"background":"auto",)"
      R"("output_format":"png","seed":7,"style":{"palette":["red","blue"],"mood":"calm"}})",
  };
  for (const std::string& body : same_as_base) EXPECT_EQ(hexOf(body), hexOf(kBase)) << body;
  EXPECT_EQ(hexOf(R"({"prompt":"caf\u00e9"})"), hexOf(R"({"prompt":"café"})"));
  EXPECT_EQ(hexOf(R"({"prompt":"p","x":10000000000000000000})"),
            hexOf(R"({"prompt":"p","x":1e19})"));
  EXPECT_EQ(hexOf(R"({"prompt":"p","x":-0.0})"), hexOf(R"({"prompt":"p","x":0})"));
  EXPECT_EQ(hexOf(R"({"prompt":"p","x":0.1})"), hexOf(R"({"prompt":"p","x":0.100})"));
}

TEST(CacheKey, EveryOutputAffectingDifferenceSplitsTheKey) {
  auto with = [](std::string_view field, std::string_view value) {
    std::string body = kBase;
    std::string marker = "\"" + std::string(field) + "\":";
    size_t at = body.find(marker);
    if (at == std::string::npos) return body.insert(1, marker + std::string(value) + ",");
    size_t end = body.find_first_of(",}", at);
    return body.replace(at + marker.size(), end - at - marker.size(), value);
  };
  std::vector<KeyInput> variants = {
      {with("prompt", R"("a fox!")")},
      {with("size", R"("1536x1024")")},
      {with("quality", R"("low")")},
      {with("n", "2")},
      {with("background", R"("transparent")")},
      {with("output_format", R"("webp")")},
      {with("seed", "8")},
      {with("watermark", "false")},  // a field the gateway has never heard of
      {with("n", "1.5")},
      {kBase, "other-upstream"},
      {kBase, "sim", "gpt-image-1-mini"},
      {kBase, "sim", "gpt-image-1", "tenant-a"},
      {kBase, "sim", "gpt-image-1", "tenant-b"},
  };
  std::set<std::string> seen = {hexOf(kBase)};
  for (const KeyInput& variant : variants) {
    EXPECT_TRUE(seen.insert(keyOf(variant).hex()).second)
        << variant.body << " " << variant.upstream << " " << variant.upstream_model << " "
        << variant.tenant;
  }
}

// Canonical JSON sorts an object's keys, never an array's items: ["red","blue"] may be a
// different request from ["blue","red"] (a palette in order of weight), a reordered object is not.
TEST(CacheKey, AnArraysOrderSplitsTheKeyAnObjectsKeyOrderDoesNot) {
  std::string red_first = R"({"prompt":"a fox","style":{"palette":["red","blue"],"mood":"calm"}})";
  std::string blue_first = R"({"prompt":"a fox","style":{"palette":["blue","red"],"mood":"calm"}})";
  std::string reordered = R"({"style":{"mood":"calm","palette":["red","blue"]},"prompt":"a fox"})";
  EXPECT_NE(hexOf(red_first), hexOf(blue_first));
  EXPECT_EQ(hexOf(red_first), hexOf(reordered));
}

TEST(CacheKey, FieldsThatCannotChangeTheOutputAreLeftOut) {
  std::string with_extras = kBase;
  with_extras.insert(1, R"("user":"u1","safety_identifier":"s","stream":true,"partial_images":2,)"
                        R"("model":"alias","response_format":"url",)");
  EXPECT_EQ(hexOf(with_extras), hexOf(kBase));
  for (std::string_view field :
       {"user", "safety_identifier", "stream", "partial_images", "model"}) {
    EXPECT_NE(std::find(std::begin(kFieldsNotInKey), std::end(kFieldsNotInKey), field),
              std::end(kFieldsNotInKey))
        << field;
  }
}

TEST(CacheKey, ExclusionsApplyOnlyAtTheTopLevel) {
  EXPECT_NE(hexOf(R"({"prompt":"p","extra":{"user":"x"}})"),
            hexOf(R"({"prompt":"p","extra":{"user":"y"}})"));
}

TEST(CacheKey, IntegersBeyondDoublePrecisionStayDistinct) {
  EXPECT_NE(hexOf(R"({"prompt":"p","seed":9007199254740993})"),
            hexOf(R"({"prompt":"p","seed":9007199254740992})"));
  EXPECT_NE(hexOf(R"({"prompt":"p","seed":18446744073709551615})"),
            hexOf(R"({"prompt":"p","seed":18446744073709551614})"));
}

TEST(CacheKey, HeaderFieldsCannotBleedIntoEachOther) {
  const std::string body = R"({"prompt":"p"})";
  EXPECT_NE(keyOf({body, "ab", "c"}).hex(), keyOf({body, "a", "bc"}).hex());
  EXPECT_NE(keyOf({body, "sim", "m\ntenant=1:x", ""}).hex(), keyOf({body, "sim", "m", "x"}).hex());
}

TEST(CacheKey, CanonicalTextHasTheDocumentedForm) {
  CacheKey key = keyOf({R"({"z":{"b":true,"a":null},"prompt":"a \"fox\"\n","n":1.0,"user":"u",)"
                        R"("q\"k":[1e2,2.5],"k\\":"v"})",
                        "sim", "m", ""});
  EXPECT_EQ(key.canonical(), std::string(kKeyFormatVersion) +
                                 "\nupstream=3:sim\nupstream_model=1:m\ntenant=0:\n"
                                 R"(body={"k\\":"v","n":1,"prompt":"a \"fox\"\n",)"
                                 R"("q\"k":[100,2.5],"z":{"a":null,"b":true}})");
}

TEST(CacheKey, DigestIsXxh3Of128BitsOfTheCanonicalTextAndHexRoundTrips) {
  CacheKey key = keyOf({kBase});
  XXH128_canonical_t expected;
  XXH128_canonicalFromHash(&expected, XXH3_128bits(key.canonical().data(), key.canonical().size()));
  EXPECT_TRUE(std::equal(key.digest().begin(), key.digest().end(), std::begin(expected.digest)));
  std::string hex = key.hex();
  ASSERT_EQ(hex.size(), 32u);
  EXPECT_TRUE(std::all_of(hex.begin(), hex.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  }));
  EXPECT_EQ(CacheKey::parseHex(hex), key.digest());
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(CacheKey::parseHex(upper), key.digest());
  EXPECT_FALSE(CacheKey::parseHex(hex.substr(1)).has_value());
  EXPECT_FALSE(CacheKey::parseHex(hex + "0").has_value());
  EXPECT_FALSE(CacheKey::parseHex("+" + hex.substr(1)).has_value());
  EXPECT_FALSE(CacheKey::parseHex(std::string(32, 'g')).has_value());
}

TEST(CacheKey, FromPartsKeepsTheGivenDigest) {
  Digest digest{9, 8, 7};
  CacheKey key = CacheKey::fromParts("text", digest);
  EXPECT_EQ(key.canonical(), "text");
  EXPECT_EQ(key.digest(), digest);
}

}  // namespace
}  // namespace arkroute::cache
