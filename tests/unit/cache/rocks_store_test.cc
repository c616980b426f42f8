// RocksDB-specific cache behaviour: corrupt and torn records, durability across a reopen, large
// bodies in blob files, the pending-write bound, bounded sweeps and read-your-writes.
#include "cache/rocks_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "unit/cache/temp_dir.h"

namespace arkroute::cache {
namespace {

CacheKey keyFor(const std::string& prompt) {
  simdjson::dom::parser parser;
  return CacheKey::make("sim", "m", parser.parse(R"({"prompt":")" + prompt + "\"}").value(), "");
}

CacheEntry entryOf(std::string body, int64_t created_ms = 0, int64_t expires_ms = 60'000) {
  return CacheEntry{std::move(body), "application/json", "m", 0.01, created_ms, expires_ms};
}

rocksdb::Slice asSlice(const Digest& digest) {
  return rocksdb::Slice(reinterpret_cast<const char*>(digest.data()), digest.size());
}

class RocksStore : public ::testing::Test {
 protected:
  std::unique_ptr<RocksCacheStore> open(RocksCacheStore::Options options = {}) {
    std::string error;
    auto store = RocksCacheStore::open(dir_.path(), options, &error);
    EXPECT_TRUE(store) << error;
    return store;
  }
  // A store opened on a database that already holds "fox" (written, then closed): nothing of it
  // is decoded in memory yet.
  std::unique_ptr<RocksCacheStore> reopenedWithFox() {
    open()->insert(keyFor("fox"), entryOf("fox body"));
    return open();
  }
  std::string familyValue(RocksCacheStore& store, std::string_view family, const Digest& digest) {
    std::string value;
    auto* database = store.database().get();
    database->db()->Get(rocksdb::ReadOptions(), database->family(family), asSlice(digest), &value);
    return value;
  }
  void putRaw(RocksCacheStore& store, const Digest& digest, const std::string& bytes) {
    auto* database = store.database().get();
    ASSERT_TRUE(database->db()
                    ->Put(rocksdb::WriteOptions(), database->family(RocksDatabase::kCacheFamily),
                          asSlice(digest), bytes)
                    .ok());
  }
  bool familyIsEmpty(RocksCacheStore& store, std::string_view family) {
    auto* database = store.database().get();
    std::unique_ptr<rocksdb::Iterator> it(
        database->db()->NewIterator(rocksdb::ReadOptions(), database->family(family)));
    it->SeekToFirst();
    return !it->Valid();
  }
  // Writes body under prompt and flushes it to disk, so it lands in a blob file.
  void storeInABlobFile(const std::string& prompt, const std::string& body) {
    auto store = open();
    store->insert(keyFor(prompt), entryOf(body));
    store->flush();
    auto* database = store->database().get();
    ASSERT_TRUE(database->db()
                    ->Flush(rocksdb::FlushOptions(), database->family(RocksDatabase::kCacheFamily))
                    .ok());
  }
  std::vector<std::filesystem::path> blobFilesLargerThan(uint64_t bytes) {
    std::vector<std::filesystem::path> found;
    for (const auto& file : std::filesystem::directory_iterator(dir_.path())) {
      if (file.path().extension() == ".blob" && file.file_size() > bytes) {
        found.push_back(file.path());
      }
    }
    return found;
  }
  TempDir dir_;
};

TEST_F(RocksStore, GarbageInTheCacheFamilyIsCorruptDeletedAndCounted) {
  auto store = reopenedWithFox();
  ASSERT_EQ(store->stats().entries, 1u);
  putRaw(*store, keyFor("fox").digest(), "ARKC-garbage-not-a-record");
  EXPECT_EQ(store->lookup(keyFor("fox"), 1).status, LookupStatus::kCorrupt);
  EXPECT_EQ(store->lookup(keyFor("fox"), 1).status, LookupStatus::kMiss) << "it was deleted";
  CacheStats stats = store->stats();
  EXPECT_EQ(stats.corrupt, 1u);
  EXPECT_EQ(stats.entries, 0u);
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_TRUE(familyIsEmpty(*store, RocksDatabase::kCacheFamily));
  EXPECT_TRUE(familyIsEmpty(*store, RocksDatabase::kCacheMetaFamily));
  EXPECT_TRUE(familyIsEmpty(*store, RocksDatabase::kCacheByTimeFamily));
}

TEST_F(RocksStore, ATornRecordIsCorruptAlsoThroughLookupByDigest) {
  auto store = reopenedWithFox();
  const Digest digest = keyFor("fox").digest();
  std::string record = familyValue(*store, RocksDatabase::kCacheFamily, digest);
  ASSERT_FALSE(record.empty());
  putRaw(*store, digest, record.substr(0, record.size() - 5));
  EXPECT_EQ(store->lookupByDigest(digest, 1).status, LookupStatus::kCorrupt);
  EXPECT_EQ(store->stats().corrupt, 1u);
  EXPECT_TRUE(familyValue(*store, RocksDatabase::kCacheFamily, digest).empty());
}

// After a reopen nothing is in memory: findInMemory says so without counting, lookup() reads the
// disk and counts, and from then on the entry is in memory.
TEST_F(RocksStore, AnEntryReadFromDiskIsInMemoryAfterwards) {
  auto store = reopenedWithFox();
  EXPECT_FALSE(store->findInMemory(keyFor("fox"), 1));
  EXPECT_EQ(store->stats().hits + store->stats().misses, 0u);
  EXPECT_EQ(store->lookup(keyFor("fox"), 1).status, LookupStatus::kHit);
  auto found = store->findInMemory(keyFor("fox"), 1);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->body, "fox body");
  EXPECT_EQ(store->stats().hits, 2u);
}

TEST_F(RocksStore, EntriesAndTotalsSurviveAReopen) {
  CacheStats before;
  {
    auto store = open();
    store->insert(keyFor("a"), entryOf("alpha", 1));
    store->insert(keyFor("b"), entryOf("bravo", 2));
    store->flush();
    before = store->stats();
  }
  auto store = open();
  EXPECT_EQ(store->stats().entries, 2u);
  EXPECT_EQ(store->stats().bytes, before.bytes);
  ASSERT_EQ(store->lookup(keyFor("a"), 10).status, LookupStatus::kHit);
  EXPECT_EQ(store->lookup(keyFor("b"), 10).entry->body, "bravo");
}

TEST_F(RocksStore, ClosingWritesEveryAcceptedInsert) {
  {
    auto store = open();
    for (int i = 0; i < 20; ++i) store->insert(keyFor(std::to_string(i)), entryOf("x"));
  }  // no flush: the destructor drains the writer
  EXPECT_EQ(open()->stats().entries, 20u);
}

TEST_F(RocksStore, ATwoMegabyteBodyRoundTripsThroughABlobFile) {
  std::string big(2 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('A' + i % 26);
  storeInABlobFile("big", big);
  EXPECT_FALSE(blobFilesLargerThan(big.size()).empty());
  auto store = open();
  LookupResult found = store->lookup(keyFor("big"), 1);
  ASSERT_EQ(found.status, LookupStatus::kHit);
  EXPECT_EQ(found.entry->body, big);
}

// Record reads skip RocksDB's checksums (the record's own XXH3 covers every byte): a byte changed
// on disk inside a blob file must still be caught, reported corrupt and never served.
TEST_F(RocksStore, AByteFlippedInABlobFileOnDiskIsCorruptNotServed) {
  std::string big(1 << 20, 'Q');
  storeInABlobFile("big", big);
  auto blobs = blobFilesLargerThan(big.size());
  ASSERT_EQ(blobs.size(), 1u);
  std::fstream blob(blobs[0], std::ios::in | std::ios::out | std::ios::binary);
  blob.seekp(static_cast<std::streamoff>(std::filesystem::file_size(blobs[0]) / 2));
  blob.put('R');
  blob.close();
  auto store = open();
  EXPECT_EQ(store->lookup(keyFor("big"), 1).status, LookupStatus::kCorrupt);
  EXPECT_EQ(store->stats().corrupt, 1u);
  EXPECT_EQ(store->lookup(keyFor("big"), 1).status, LookupStatus::kMiss) << "it was deleted";
}

TEST_F(RocksStore, InsertsBeyondThePendingBoundAreDroppedAndCounted) {
  RocksCacheStore::Options options;
  options.max_pending_bytes = 1000;
  auto store = open(options);
  store->insert(keyFor("too big to queue"), entryOf(std::string(2000, 'x')));
  store->insert(keyFor("fits"), entryOf("small"));
  store->flush();
  EXPECT_EQ(store->stats().dropped_writes, 1u);
  EXPECT_EQ(store->lookup(keyFor("too big to queue"), 1).status, LookupStatus::kMiss);
  EXPECT_EQ(store->lookup(keyFor("fits"), 1).status, LookupStatus::kHit);
}

TEST_F(RocksStore, AnInsertIsServedAtOnceAndIsTheSameObject) {
  auto store = open();
  auto entry = std::make_shared<const CacheEntry>(entryOf("fresh"));
  store->insert(keyFor("fresh"), entry);
  LookupResult found = store->lookup(keyFor("fresh"), 1);
  ASSERT_EQ(found.status, LookupStatus::kHit);
  EXPECT_EQ(found.entry, entry) << "no copy of the body on the way in or out";
}

TEST_F(RocksStore, WritingAReplacementKeepsItsHotCopy) {
  auto store = open();
  store->insert(keyFor("fox"), entryOf("first"));
  store->flush();
  auto second = std::make_shared<const CacheEntry>(entryOf("second"));
  store->insert(keyFor("fox"), second);
  store->flush();  // the write replaced the first record: the hot copy must survive it
  LookupResult found = store->lookup(keyFor("fox"), 1);
  ASSERT_EQ(found.status, LookupStatus::kHit);
  EXPECT_EQ(found.entry, second) << "served from memory, not re-read from the database";
  EXPECT_EQ(store->stats().entries, 1u);
}

TEST_F(RocksStore, SweepsAreBoundedAndResumeWhereTheyStopped) {
  RocksCacheStore::Options options;
  options.sweep_batch = 2;
  auto store = open(options);
  for (int i = 0; i < 5; ++i) store->insert(keyFor("e" + std::to_string(i)), entryOf("e", 0, 10));
  store->insert(keyFor("live"), entryOf("live", 0, 1'000'000));
  store->flush();
  uint64_t removed = 0;
  for (int call = 0; call < 3; ++call) {
    uint64_t this_call = store->sweepExpired(100);
    EXPECT_LE(this_call, 2u);
    removed += this_call;
  }
  EXPECT_EQ(removed, 5u) << "three calls of two examine all six entries";
  EXPECT_EQ(store->stats().entries, 1u);
  EXPECT_EQ(store->lookup(keyFor("live"), 100).status, LookupStatus::kHit);
}

TEST_F(RocksStore, TheLedgerFamiliesShareTheDatabaseWithoutTouchingTheCache) {
  std::string error;
  std::shared_ptr<RocksDatabase> database = RocksDatabase::open(dir_.path(), &error);
  ASSERT_TRUE(database) << error;
  RocksCacheStore store(database, RocksCacheStore::Options{});
  ASSERT_TRUE(database->db()
                  ->Put(rocksdb::WriteOptions(), database->family(RocksDatabase::kLedgerFamily),
                        "tenant-a", "1.25")
                  .ok());
  store.insert(keyFor("a"), entryOf("a"));
  store.flush();
  EXPECT_EQ(store.stats().entries, 1u);
  EXPECT_EQ(store.purge(std::nullopt), 1u);
  std::string spent;
  EXPECT_TRUE(database->db()
                  ->Get(rocksdb::ReadOptions(), database->family(RocksDatabase::kLedgerFamily),
                        "tenant-a", &spent)
                  .ok());
  EXPECT_EQ(spent, "1.25");
}

}  // namespace
}  // namespace arkroute::cache
