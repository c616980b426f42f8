// One conformance suite run against every CacheStore backend (memory, RocksDB), with an injected
// clock (now_ms arguments): round trips, misses, key verification, TTL, eviction, purge, stats.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "cache/memory_store.h"
#include "cache/rocks_store.h"

namespace arkroute::cache {
namespace {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<CacheStore>(const std::string& dir, uint64_t max_bytes)> open;
};

CacheKey keyFor(const std::string& prompt, const std::string& tenant = "") {
  simdjson::dom::parser parser;
  std::string body = R"({"prompt":")" + prompt + "\"}";
  return CacheKey::make("sim", "gpt-image-1", parser.parse(body).value(), tenant);
}

CacheEntry entryOf(std::string body, int64_t now, int64_t ttl = 60'000,
                   std::string model = "gpt-image-1") {
  return CacheEntry{std::move(body), "application/json", std::move(model), 0.042, now, now + ttl};
}

class CacheStoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arkroute-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  CacheStore& open(uint64_t max_bytes = 1ull << 30) {
    store_ = GetParam().open(dir_, max_bytes);
    return *store_;
  }
  std::string dir_;
  std::unique_ptr<CacheStore> store_;
};

TEST_P(CacheStoreConformance, InsertThenLookupRoundTripsEveryField) {
  CacheStore& store = open();
  store.insert(keyFor("fox"), entryOf("{\"data\":[1]}", 1000));
  store.flush();
  LookupResult found = store.lookup(keyFor("fox"), 2000);
  ASSERT_EQ(found.status, LookupStatus::kHit);
  EXPECT_EQ(found.entry->body, "{\"data\":[1]}");
  EXPECT_EQ(found.entry->content_type, "application/json");
  EXPECT_EQ(found.entry->model, "gpt-image-1");
  EXPECT_DOUBLE_EQ(found.entry->cost_usd, 0.042);
  EXPECT_EQ(found.entry->created_ms, 1000);
  EXPECT_EQ(store.lookup(keyFor("cat"), 2000).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookupByDigest(keyFor("fox").digest(), 2000).status, LookupStatus::kHit);
  CacheStats stats = store.stats();
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 1u);
}

TEST_P(CacheStoreConformance, ExpiredEntriesAreNeverServed) {
  CacheStore& store = open();
  store.insert(keyFor("old"), entryOf("old", 0, 1000));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("old"), 999).status, LookupStatus::kHit);
  EXPECT_EQ(store.lookup(keyFor("old"), 1000).status, LookupStatus::kExpired);
  EXPECT_EQ(store.lookup(keyFor("old"), 500).status, LookupStatus::kMiss) << "deleted on expiry";
  store.insert(keyFor("a"), entryOf("a", 0, 10));
  store.insert(keyFor("b"), entryOf("b", 0, 10'000));
  store.flush();
  EXPECT_EQ(store.sweepExpired(100), 1u);
  EXPECT_EQ(store.stats().entries, 1u);
}

TEST_P(CacheStoreConformance, OldestEntriesAreEvictedOverTheSizeCap) {
  CacheStore& store = open(2500);
  for (int i = 0; i < 5; ++i) {
    store.insert(keyFor("p" + std::to_string(i)), entryOf(std::string(900, 'x'), 1000 + i));
    store.flush();
  }
  EXPECT_LE(store.stats().bytes, 2500u);
  EXPECT_GE(store.stats().evictions, 3u);
  EXPECT_EQ(store.lookup(keyFor("p0"), 2000).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookup(keyFor("p4"), 2000).status, LookupStatus::kHit);
}

TEST_P(CacheStoreConformance, ReplacingAnEntryKeepsTotalsRight) {
  CacheStore& store = open();
  store.insert(keyFor("same"), entryOf("first", 1000));
  store.insert(keyFor("same"), entryOf("second", 2000));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("same"), 3000).entry->body, "second");
  EXPECT_EQ(store.stats().entries, 1u);
}

TEST_P(CacheStoreConformance, PurgeRemovesAllOrOneModel) {
  CacheStore& store = open();
  store.insert(keyFor("a"), entryOf("a", 0, 60'000, "gpt-image-1"));
  store.insert(keyFor("b"), entryOf("b", 0, 60'000, "seedream-4.5"));
  store.insert(keyFor("c"), entryOf("c", 0, 60'000, "seedream-4.5"));
  store.flush();
  EXPECT_EQ(store.purge(std::string("seedream-4.5")), 2u);
  EXPECT_EQ(store.lookup(keyFor("a"), 1).status, LookupStatus::kHit);
  EXPECT_EQ(store.purge(std::nullopt), 1u);
  EXPECT_EQ(store.stats().entries, 0u);
  EXPECT_EQ(store.stats().bytes, 0u);
}

TEST_P(CacheStoreConformance, TenantsNeverSeeEachOthersEntries) {
  CacheStore& store = open();
  store.insert(keyFor("shared prompt", "tenant-a"), entryOf("a's image", 0));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("shared prompt", "tenant-b"), 1).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookup(keyFor("shared prompt", "tenant-a"), 1).status, LookupStatus::kHit);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CacheStoreConformance,
    ::testing::Values(Backend{"memory",
                              [](const std::string&, uint64_t max) {
                                return std::unique_ptr<CacheStore>(new MemoryCacheStore(max));
                              }},
                      Backend{"rocksdb",
                              [](const std::string& dir, uint64_t max) {
                                std::string error;
                                auto store = RocksCacheStore::open(dir, max, &error);
                                EXPECT_TRUE(store) << error;
                                return std::unique_ptr<CacheStore>(std::move(store));
                              }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace arkroute::cache
