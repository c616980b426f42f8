// One conformance suite run against every CacheStore backend (memory, RocksDB in a fresh temp dir
// per test), with time injected through now_ms: round trips, misses, key verification, TTL,
// eviction, purge, stats, lookups by digest, and concurrent use.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

#include "cache/memory_store.h"
#include "cache/rocks_store.h"
#include "unit/cache/temp_dir.h"

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

CacheEntry entryOf(std::string body, int64_t created_ms, int64_t ttl_ms = 60'000,
                   std::string model = "gpt-image-1") {
  return CacheEntry{std::move(body), "application/json", std::move(model),
                    0.042,           created_ms,         created_ms + ttl_ms};
}

class CacheStoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  CacheStore& open(uint64_t max_bytes = 1ull << 30) {
    store_ = GetParam().open(dir_.path(), max_bytes);
    return *store_;
  }
  // The bytes one entry of this shape accounts for in this backend.
  uint64_t bytesOfOne(const std::string& body) {
    TempDir other;
    auto probe = GetParam().open(other.path(), 1ull << 30);
    probe->insert(keyFor("p0"), entryOf(body, 0));
    probe->flush();
    return probe->stats().bytes;
  }
  TempDir dir_;
  std::unique_ptr<CacheStore> store_;
};

TEST_P(CacheStoreConformance, InsertThenLookupRoundTripsEveryField) {
  CacheStore& store = open();
  store.insert(keyFor("fox"),
               CacheEntry{"{\"data\":[1]}", "application/json", "m", 0.042, 1000, 61'000});
  store.flush();
  LookupResult found = store.lookup(keyFor("fox"), 2000);
  ASSERT_EQ(found.status, LookupStatus::kHit);
  ASSERT_TRUE(found.entry);
  EXPECT_EQ(found.entry->body, "{\"data\":[1]}");
  EXPECT_EQ(found.entry->content_type, "application/json");
  EXPECT_EQ(found.entry->model, "m");
  EXPECT_DOUBLE_EQ(found.entry->cost_usd, 0.042);
  EXPECT_EQ(found.entry->created_ms, 1000);
  EXPECT_EQ(found.entry->expires_ms, 61'000);
}

TEST_P(CacheStoreConformance, AnUnknownKeyIsAMiss) {
  CacheStore& store = open();
  store.insert(keyFor("fox"), entryOf("fox", 0));
  store.flush();
  LookupResult found = store.lookup(keyFor("cat"), 1);
  EXPECT_EQ(found.status, LookupStatus::kMiss);
  EXPECT_FALSE(found.entry);
  EXPECT_EQ(store.lookupByDigest(keyFor("cat").digest(), 1).status, LookupStatus::kMiss);
}

// findInMemory never waits and counts only what it finds; lookup() decides (and counts) the rest.
TEST_P(CacheStoreConformance, FindInMemoryCountsOnlyItsHits) {
  CacheStore& store = open();
  store.insert(keyFor("fox"), entryOf("fox body", 1000));
  auto found = store.findInMemory(keyFor("fox"), 2000);
  ASSERT_TRUE(found) << "a fresh insert is in memory";
  EXPECT_EQ(found->body, "fox body");
  EXPECT_FALSE(store.findInMemory(keyFor("owl"), 2000));
  EXPECT_FALSE(store.findInMemory(keyFor("fox"), 1000 + 60'000)) << "expired";
  CacheStats stats = store.stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 0u);
}

TEST_P(CacheStoreConformance, SameDigestWithOtherCanonicalTextIsAKeyMismatch) {
  CacheStore& store = open();
  CacheKey stored = keyFor("fox");
  store.insert(stored, entryOf("fox", 0));
  store.flush();
  CacheKey collision = CacheKey::fromParts(stored.canonical() + " but different", stored.digest());
  LookupResult found = store.lookup(collision, 1);
  EXPECT_EQ(found.status, LookupStatus::kKeyMismatch);
  EXPECT_FALSE(found.entry);
  EXPECT_EQ(store.lookup(stored, 1).status, LookupStatus::kHit) << "the mismatch deletes nothing";
}

TEST_P(CacheStoreConformance, LookupByDigestServesWithoutComparingTheText) {
  CacheStore& store = open();
  store.insert(keyFor("fox"), entryOf("fox body", 0));
  store.flush();
  LookupResult found = store.lookupByDigest(keyFor("fox").digest(), 1);
  ASSERT_EQ(found.status, LookupStatus::kHit);
  EXPECT_EQ(found.entry->body, "fox body");
  EXPECT_EQ(store.lookupByDigest(keyFor("fox").digest(), 60'000).status, LookupStatus::kExpired);
}

TEST_P(CacheStoreConformance, ExpiredEntriesAreNeverServedAndAreDeleted) {
  CacheStore& store = open();
  store.insert(keyFor("old"), entryOf("old", 0, 1000));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("old"), 999).status, LookupStatus::kHit);
  LookupResult expired = store.lookup(keyFor("old"), 1000);
  EXPECT_EQ(expired.status, LookupStatus::kExpired);
  EXPECT_FALSE(expired.entry);
  EXPECT_EQ(store.lookup(keyFor("old"), 500).status, LookupStatus::kMiss) << "deleted on expiry";
  EXPECT_EQ(store.stats().entries, 0u);
  EXPECT_EQ(store.stats().bytes, 0u);
}

TEST_P(CacheStoreConformance, SweepRemovesOnlyExpiredEntries) {
  CacheStore& store = open();
  store.insert(keyFor("a"), entryOf("a", 0, 10));
  store.insert(keyFor("b"), entryOf("b", 0, 10'000));
  store.insert(keyFor("c"), entryOf("c", 0, 100));
  store.flush();
  EXPECT_EQ(store.sweepExpired(100), 2u);
  EXPECT_EQ(store.stats().entries, 1u);
  EXPECT_EQ(store.lookup(keyFor("b"), 101).status, LookupStatus::kHit);
  EXPECT_EQ(store.sweepExpired(100), 0u);
}

TEST_P(CacheStoreConformance, OldestEntriesAreEvictedOverTheSizeCap) {
  uint64_t one = bytesOfOne(std::string(900, 'x'));
  CacheStore& store = open(2 * one + one / 2);  // room for two
  for (int i = 0; i < 5; ++i) {
    store.insert(keyFor("p" + std::to_string(i)), entryOf(std::string(900, 'x'), 1000 + i));
    store.flush();
  }
  CacheStats stats = store.stats();
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.bytes, 2 * one);
  EXPECT_EQ(stats.evictions, 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store.lookup(keyFor("p" + std::to_string(i)), 2000).status, LookupStatus::kMiss);
  }
  EXPECT_EQ(store.lookup(keyFor("p3"), 2000).status, LookupStatus::kHit);
  EXPECT_EQ(store.lookup(keyFor("p4"), 2000).status, LookupStatus::kHit);
}

TEST_P(CacheStoreConformance, AgeIsCreationTimeNotInsertionOrder) {
  uint64_t one = bytesOfOne(std::string(900, 'x'));
  CacheStore& store = open(2 * one + one / 2);
  store.insert(keyFor("p0"), entryOf(std::string(900, 'x'), 3000));
  store.insert(keyFor("p1"), entryOf(std::string(900, 'x'), 1000));
  store.insert(keyFor("p2"), entryOf(std::string(900, 'x'), 2000));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("p1"), 4000).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookup(keyFor("p0"), 4000).status, LookupStatus::kHit);
  EXPECT_EQ(store.lookup(keyFor("p2"), 4000).status, LookupStatus::kHit);
}

TEST_P(CacheStoreConformance, LoweringTheCapEvictsDownToIt) {
  uint64_t one = bytesOfOne(std::string(500, 'x'));
  CacheStore& store = open();
  for (int i = 0; i < 4; ++i) {
    store.insert(keyFor("p" + std::to_string(i)), entryOf(std::string(500, 'x'), i));
  }
  store.flush();
  store.setMaxBytes(one);
  EXPECT_EQ(store.stats().entries, 1u);
  EXPECT_EQ(store.stats().evictions, 3u);
  EXPECT_EQ(store.lookup(keyFor("p3"), 10).status, LookupStatus::kHit);
}

TEST_P(CacheStoreConformance, AnEntryBiggerThanTheCapIsDroppedAndEvictsNothing) {
  CacheStore& store = open(4096);
  store.insert(keyFor("small"), entryOf("small", 0));
  store.insert(keyFor("huge"), entryOf(std::string(8192, 'h'), 1));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("huge"), 2).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookup(keyFor("small"), 2).status, LookupStatus::kHit);
  EXPECT_EQ(store.stats().dropped_writes, 1u);
  EXPECT_EQ(store.stats().evictions, 0u);
}

TEST_P(CacheStoreConformance, ReplacingAnEntryKeepsTotalsRight) {
  uint64_t one = bytesOfOne("second");
  CacheStore& store = open();
  store.insert(keyFor("p0"), entryOf("first", 1000));
  store.insert(keyFor("p0"), entryOf("second", 2000));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("p0"), 3000).entry->body, "second");
  EXPECT_EQ(store.stats().entries, 1u);
  EXPECT_EQ(store.stats().bytes, one);
}

TEST_P(CacheStoreConformance, PurgeRemovesAllOrOneModel) {
  CacheStore& store = open();
  store.insert(keyFor("a"), entryOf("a", 0, 60'000, "gpt-image-1"));
  store.insert(keyFor("b"), entryOf("b", 0, 60'000, "seedream-4.5"));
  store.insert(keyFor("c"), entryOf("c", 0, 60'000, "seedream-4.5"));
  EXPECT_EQ(store.purge(std::string("seedream-4.5")), 2u) << "purge sees unflushed inserts";
  EXPECT_EQ(store.lookup(keyFor("b"), 1).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookup(keyFor("a"), 1).status, LookupStatus::kHit);
  EXPECT_EQ(store.purge(std::string("no-such-model")), 0u);
  EXPECT_EQ(store.purge(std::nullopt), 1u);
  EXPECT_EQ(store.lookup(keyFor("a"), 1).status, LookupStatus::kMiss);
  EXPECT_EQ(store.stats().entries, 0u);
  EXPECT_EQ(store.stats().bytes, 0u);
}

TEST_P(CacheStoreConformance, TenantsNeverSeeEachOthersEntries) {
  CacheStore& store = open();
  store.insert(keyFor("shared prompt", "tenant-a"), entryOf("a's image", 0));
  store.flush();
  EXPECT_EQ(store.lookup(keyFor("shared prompt", "tenant-b"), 1).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookup(keyFor("shared prompt"), 1).status, LookupStatus::kMiss);
  EXPECT_EQ(store.lookup(keyFor("shared prompt", "tenant-a"), 1).status, LookupStatus::kHit);
}

TEST_P(CacheStoreConformance, StatsCountEveryKindOfLookup) {
  CacheStore& store = open();
  store.insert(keyFor("a"), entryOf("a", 0, 100));
  store.insert(keyFor("b"), entryOf("b", 0, 10'000));
  store.flush();
  store.lookup(keyFor("a"), 1);                                              // hit
  store.lookupByDigest(keyFor("b").digest(), 1);                             // hit
  store.lookup(keyFor("zzz"), 1);                                            // miss
  store.lookup(CacheKey::fromParts("other text", keyFor("b").digest()), 1);  // mismatch
  store.lookup(keyFor("a"), 100);                                            // expired
  CacheStats stats = store.stats();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 3u);
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.corrupt, 0u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.dropped_writes, 0u);
  EXPECT_EQ(toString(LookupStatus::kKeyMismatch), "key_mismatch");
}

TEST_P(CacheStoreConformance, ConcurrentInsertsAndLookupsAgree) {
  CacheStore& store = open();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i) {
        std::string prompt = "t" + std::to_string(t) + "-" + std::to_string(i);
        store.insert(keyFor(prompt), entryOf(prompt, i));
        LookupResult found = store.lookup(keyFor(prompt), i + 1);
        EXPECT_EQ(found.status, LookupStatus::kHit) << prompt;
        if (found.entry) {
          EXPECT_EQ(found.entry->body, prompt);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  store.flush();
  EXPECT_EQ(store.stats().entries, 200u);
  EXPECT_EQ(store.stats().hits, 200u);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CacheStoreConformance,
    ::testing::Values(Backend{"memory",
                              [](const std::string&, uint64_t max_bytes) {
                                return std::unique_ptr<CacheStore>(new MemoryCacheStore(max_bytes));
                              }},
                      Backend{"rocksdb",
                              [](const std::string& dir, uint64_t max_bytes) {
                                std::string error;
                                auto store = RocksCacheStore::open(dir, max_bytes, &error);
                                EXPECT_TRUE(store) << error;
                                return std::unique_ptr<CacheStore>(std::move(store));
                              }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace arkroute::cache
