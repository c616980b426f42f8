// RocksDB-specific cache behaviour: corrupt records, reopen, large bodies, locked databases.
#include "cache/rocks_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <filesystem>

namespace arkroute::cache {
namespace {

class RocksStore : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arkroute-rocks-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<RocksCacheStore> open() {
    std::string error;
    auto store = RocksCacheStore::open(dir_, 1ull << 30, &error);
    EXPECT_TRUE(store) << error;
    return store;
  }
  static CacheKey key(const std::string& prompt) {
    simdjson::dom::parser parser;
    return CacheKey::make("sim", "m", parser.parse(R"({"prompt":")" + prompt + "\"}").value(), "");
  }
  std::string dir_;
};

TEST_F(RocksStore, CorruptRecordIsAMissIsDeletedAndIsCounted) {
  auto store = open();
  store->insert(key("fox"), CacheEntry{"body", "application/json", "m", 0.01, 0, 60'000});
  store->flush();
  store.reset();
  store = open();  // a fresh process: nothing decoded in memory yet
  const Digest& digest = key("fox").digest();
  rocksdb::Slice slice(reinterpret_cast<const char*>(digest.data()), digest.size());
  ASSERT_TRUE(
      store->db()
          ->Put(rocksdb::WriteOptions(), store->family("cache"), slice, "ARKC-garbage-not-a-record")
          .ok());
  EXPECT_EQ(store->lookup(key("fox"), 1).status, LookupStatus::kCorrupt);
  EXPECT_EQ(store->lookup(key("fox"), 1).status, LookupStatus::kMiss);
  EXPECT_EQ(store->stats().corrupt, 1u);
  EXPECT_EQ(store->stats().entries, 0u);
}

TEST_F(RocksStore, FlippedByteIsCaughtByTheChecksum) {
  std::string record = encodeRecord("canonical", CacheEntry{"body", "t", "m", 1, 2, 3});
  std::string canonical;
  CacheEntry entry;
  ASSERT_TRUE(decodeRecord(record, &canonical, &entry));
  record[record.size() / 2] ^= 0x01;
  EXPECT_FALSE(decodeRecord(record, &canonical, &entry));
  EXPECT_FALSE(decodeRecord(record.substr(0, record.size() - 3), &canonical, &entry));
}

TEST_F(RocksStore, EntriesAndTotalsSurviveAReopenAndLargeBodiesRoundTrip) {
  std::string big(2 << 20, 'b');
  {
    auto store = open();
    store->insert(key("big"), CacheEntry{big, "application/json", "m", 0.01, 0, 60'000});
    store->insert(key("small"), CacheEntry{"s", "application/json", "m", 0.01, 0, 60'000});
    store->flush();
  }
  auto store = open();
  EXPECT_EQ(store->stats().entries, 2u);
  EXPECT_GT(store->stats().bytes, big.size());
  auto found = store->lookup(key("big"), 1);
  ASSERT_EQ(found.status, LookupStatus::kHit);
  EXPECT_EQ(found.entry->body, big);
}

TEST_F(RocksStore, ASecondOpenOfTheSamePathFailsWithAClearMessage) {
  auto first = open();
  std::string error;
  auto second = RocksCacheStore::open(dir_, 1ull << 30, &error);
  EXPECT_FALSE(second);
  EXPECT_NE(error.find("locked by another process"), std::string::npos) << error;
}

}  // namespace
}  // namespace arkroute::cache
