// The stored record format: every field round-trips, and any damage fails to decode.
#include "cache/cache_record.h"

#include <gtest/gtest.h>

namespace arkroute::cache {
namespace {

const CacheEntry kEntry{std::string("body\0with a zero", 16),
                        "image/png",
                        "gpt-image-1",
                        0.042,
                        1'700'000'000'000,
                        1'700'086'400'000};

TEST(CacheRecord, EveryFieldRoundTrips) {
  std::string record = encodeRecord("canonical\ntext", kEntry);
  std::string canonical;
  CacheEntry entry;
  ASSERT_TRUE(decodeRecord(record, &canonical, &entry));
  EXPECT_EQ(canonical, "canonical\ntext");
  EXPECT_EQ(entry.body, kEntry.body);
  EXPECT_EQ(entry.content_type, "image/png");
  EXPECT_EQ(entry.model, "gpt-image-1");
  EXPECT_EQ(entry.cost_usd, 0.042);
  EXPECT_EQ(entry.created_ms, kEntry.created_ms);
  EXPECT_EQ(entry.expires_ms, kEntry.expires_ms);
}

TEST(CacheRecord, AnyFlippedByteIsCaught) {
  const std::string record = encodeRecord("canonical", kEntry);
  std::string canonical;
  CacheEntry entry;
  for (size_t i = 0; i < record.size(); ++i) {
    std::string damaged = record;
    damaged[i] ^= 0x20;
    EXPECT_FALSE(decodeRecord(damaged, &canonical, &entry)) << "byte " << i;
  }
}

TEST(CacheRecord, TornAndForeignBytesAreRejected) {
  const std::string record = encodeRecord("canonical", kEntry);
  std::string canonical;
  CacheEntry entry;
  for (size_t length : {size_t{0}, size_t{4}, size_t{12}, record.size() / 2, record.size() - 1}) {
    EXPECT_FALSE(decodeRecord(record.substr(0, length), &canonical, &entry)) << length;
  }
  EXPECT_FALSE(decodeRecord(record + "x", &canonical, &entry));
  EXPECT_FALSE(decodeRecord("ARKC-garbage-not-a-record", &canonical, &entry));
}

}  // namespace
}  // namespace arkroute::cache
