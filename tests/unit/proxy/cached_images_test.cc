// Cached image ids ("<digest>-<version>-<tag>-<index>"): they parse and nothing else does, an id
// reads only the generation it names, and only with the tag the store's secret gives it.
#include "proxy/cached_images.h"

#include <gtest/gtest.h>

#include "cache/memory_store.h"

namespace arkroute {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef";
const std::string kTag = "00112233445566ff";

cache::CacheKey keyFor(const std::string& hex) {
  return cache::CacheKey::fromParts("canonical", *cache::CacheKey::parseHex(hex));
}

std::shared_ptr<const cache::CacheEntry> entryAt(int64_t created_ms, const std::string& b64) {
  return std::make_shared<const cache::CacheEntry>(
      cache::CacheEntry{R"({"data":[{"b64_json":")" + b64 + R"("}]})", "application/json", "m", -1,
                        created_ms, created_ms + 60'000});
}

TEST(CachedImageIds, TaggedIdsParse) {
  auto id = parseCachedImageId(kHex + "-19b1c2d3e4f-00112233445566ff-12");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(cache::CacheKey::toHex(id->digest), kHex);
  EXPECT_EQ(id->created_ms, 0x19b1c2d3e4fLL);
  EXPECT_EQ(id->tag, "00112233445566ff");
  EXPECT_EQ(id->index, 12u);
  auto in_url = cachedImageIdIn("https://gw.example/v1/images/cache/" + kHex + "-a-" + kTag + "-0");
  ASSERT_TRUE(in_url.has_value());
  EXPECT_EQ(in_url->created_ms, 10);
}

TEST(CachedImageIds, MalformedOrUntaggedIdsAreRefused) {
  for (const std::string& id :
       {kHex, kHex + "-", kHex + "-3", kHex + "-1-0", kHex + "--" + kTag + "-0",
        kHex + "-1x-" + kTag + "-0", kHex + "-A-" + kTag + "-0", kHex + "-1-" + kTag + "-2-3",
        kHex + "-1234567890abcdef-" + kTag + "-0", kHex + "-1-" + kTag + "-1000",
        kHex.substr(1) + "-1-" + kTag + "-0", kHex + "-+1-" + kTag + "-0",
        kHex + "-1-" + kTag + "- 0", "-1-" + kTag + "-0", kHex + "-01-" + kTag + "-0",
        kHex + "-1-" + kTag + "-01", kHex + "-1-" + kTag.substr(1) + "-0",
        kHex + "-1-" + kTag + "0-0", kHex + "-1-00112233445566FF-0"}) {
    EXPECT_FALSE(parseCachedImageId(id).has_value()) << id;
  }
  EXPECT_TRUE(parseCachedImageId(kHex + "-123456789abcdef-" + kTag + "-999").has_value());
}

TEST(CachedImageIds, TheEntryIdCarriesTheVersionAndTagTheImageIdReadsBack) {
  cache::MemoryCacheStore store(1 << 20);
  auto entry = entryAt(1'790'000'000'123, "iVBORw0KGgo=");
  const std::string entry_id = cachedEntryId(store, keyFor(kHex), *entry);
  auto image = parseCachedImageId(entry_id + "-0");
  ASSERT_TRUE(image.has_value()) << entry_id;
  EXPECT_EQ(image->created_ms, entry->created_ms);
  EXPECT_EQ(versionedImageId(*image, *entry), entry_id + "-0");
}

TEST(CachedImageIds, AnIdReadsOnlyTheGenerationItNames) {
  cache::MemoryCacheStore store(1 << 20);
  cache::CacheKey key = keyFor(kHex);
  auto first = entryAt(1000, "iVBORw0KGgo=");
  ASSERT_TRUE(store.insert(key, first));
  const std::string first_id = cachedEntryId(store, key, *first) + "-0";
  auto read = cachedImage(store, *parseCachedImageId(first_id), 2000);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->bytes, "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(read->version_id, first_id);
  EXPECT_FALSE(
      cachedImage(store, *parseCachedImageId(cachedEntryId(store, key, *first) + "-1"), 2000))
      << "no second image";

  auto second = entryAt(1500, "R0lGODlh");  // the same request generated again
  ASSERT_TRUE(store.insert(key, second));
  EXPECT_FALSE(cachedImage(store, *parseCachedImageId(first_id), 2000).has_value());
  auto latest =
      cachedImage(store, *parseCachedImageId(cachedEntryId(store, key, *second) + "-0"), 2000);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->bytes, "GIF89a");
}

// The digest is computable by anyone who guesses the request; without the store's tag for it,
// an id reads nothing, and another store (another secret) tags the same entry differently.
TEST(CachedImageIds, AnIdWithoutTheStoresTagReadsNothing) {
  cache::MemoryCacheStore store(1 << 20), other(1 << 20);
  cache::CacheKey key = keyFor(kHex);
  auto entry = entryAt(1000, "iVBORw0KGgo=");
  ASSERT_TRUE(store.insert(key, entry));
  std::string id = cachedEntryId(store, key, *entry) + "-0";
  ASSERT_TRUE(cachedImage(store, *parseCachedImageId(id), 2000).has_value());
  std::string guessed = kHex + "-3e8-" + kTag + "-0";  // right digest and version, made-up tag
  EXPECT_FALSE(cachedImage(store, *parseCachedImageId(guessed), 2000).has_value());
  std::string elsewhere = cachedEntryId(other, key, *entry) + "-0";
  EXPECT_NE(elsewhere, id);
  EXPECT_FALSE(cachedImage(store, *parseCachedImageId(elsewhere), 2000).has_value());
}

}  // namespace
}  // namespace arkroute
