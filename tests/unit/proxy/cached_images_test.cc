// Cached image ids: versioned ("<digest>-<version>-<index>") and unversioned ("<digest>-<index>")
// ids parse, anything else does not, and a versioned id reads only the generation it names.
#include "proxy/cached_images.h"

#include <gtest/gtest.h>

#include "cache/memory_store.h"

namespace arkroute {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef";

cache::CacheKey keyFor(const std::string& hex) {
  return cache::CacheKey::fromParts("canonical", *cache::CacheKey::parseHex(hex));
}

std::shared_ptr<const cache::CacheEntry> entryAt(int64_t created_ms, const std::string& b64) {
  return std::make_shared<const cache::CacheEntry>(
      cache::CacheEntry{R"({"data":[{"b64_json":")" + b64 + R"("}]})", "application/json", "m", -1,
                        created_ms, created_ms + 60'000});
}

TEST(CachedImageIds, VersionedAndUnversionedIdsParse) {
  auto versioned = parseCachedImageId(kHex + "-19b1c2d3e4f-12");
  ASSERT_TRUE(versioned.has_value());
  EXPECT_EQ(cache::CacheKey::toHex(versioned->digest), kHex);
  EXPECT_EQ(versioned->created_ms, 0x19b1c2d3e4fLL);
  EXPECT_EQ(versioned->index, 12u);
  auto unversioned = parseCachedImageId(kHex + "-3");
  ASSERT_TRUE(unversioned.has_value());
  EXPECT_FALSE(unversioned->created_ms.has_value());
  EXPECT_EQ(unversioned->index, 3u);
  auto in_url = cachedImageIdIn("https://gw.example/v1/images/cache/" + kHex + "-a-0");
  ASSERT_TRUE(in_url.has_value());
  EXPECT_EQ(in_url->created_ms, 10);
}

TEST(CachedImageIds, MalformedIdsAreRefused) {
  for (const std::string& id :
       {kHex, kHex + "-", kHex + "--0", kHex + "-1x-0", kHex + "-A-0", kHex + "-1-2-3",
        kHex + "-1234567890abcdef-0", kHex + "-1-1000", kHex.substr(1) + "-0", kHex + "-+1-0",
        kHex + "-1- 0", std::string("-1-0"), kHex + "-01-0", kHex + "-1-01", kHex + "-00"}) {
    EXPECT_FALSE(parseCachedImageId(id).has_value()) << id;
  }
  EXPECT_TRUE(parseCachedImageId(kHex + "-123456789abcdef-999").has_value());
}

TEST(CachedImageIds, TheEntryIdCarriesTheVersionTheImageIdReadsBack) {
  auto entry = entryAt(1'790'000'000'123, "iVBORw0KGgo=");
  const std::string entry_id = cachedEntryId(keyFor(kHex), *entry);
  auto image = parseCachedImageId(entry_id + "-0");
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->created_ms, entry->created_ms);
  EXPECT_EQ(versionedImageId(*image, *entry), entry_id + "-0");
}

TEST(CachedImageIds, AVersionedIdReadsOnlyTheGenerationItNames) {
  cache::MemoryCacheStore store(1 << 20);
  cache::CacheKey key = keyFor(kHex);
  auto first = entryAt(1000, "iVBORw0KGgo=");
  ASSERT_TRUE(store.insert(key, first));
  const std::string first_id = cachedEntryId(key, *first) + "-0";
  auto read = cachedImage(store, *parseCachedImageId(first_id), 2000);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->bytes, "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(read->version_id, first_id);
  EXPECT_FALSE(cachedImage(store, *parseCachedImageId(cachedEntryId(key, *first) + "-1"), 2000))
      << "no second image";

  auto second = entryAt(1500, "R0lGODlh");  // the same request generated again
  ASSERT_TRUE(store.insert(key, second));
  EXPECT_FALSE(cachedImage(store, *parseCachedImageId(first_id), 2000).has_value());
  auto latest = cachedImage(store, *parseCachedImageId(kHex + "-0"), 2000);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->bytes, "GIF89a");
  EXPECT_EQ(latest->version_id, cachedEntryId(key, *second) + "-0");
}

}  // namespace
}  // namespace arkroute
