// WriteProgress: both stores settle an accepted insert's progress: the memory store at once, the
// RocksDB store once its writer thread has written the record (kWritten) or failed to, on a full
// disk (kFailed). Url answers wait for it, so they never link to a record that was not written.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cache/memory_store.h"
#include "cache/rocks_store.h"
#include "unit/cache/faulty_disk.h"
#include "unit/cache/temp_dir.h"

namespace arkroute::cache {
namespace {

using State = WriteProgress::State;

CacheKey progressKey(const std::string& prompt) {
  simdjson::dom::parser parser;
  return CacheKey::make("sim", "m", parser.parse(R"({"prompt":")" + prompt + "\"}").value(), "");
}

std::shared_ptr<const CacheEntry> trackedEntry(std::string body) {
  auto entry = std::make_shared<CacheEntry>(
      CacheEntry{std::move(body), "application/json", "m", 0.01, 1, 60'000});
  entry->write = std::make_shared<WriteProgress>();
  return entry;
}

// Waits (bounded, 10 s) for progress to leave kPending.
State settled(const WriteProgress& progress) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (progress.state() == State::kPending && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return progress.state();
}

TEST(WriteProgress, TheMemoryStoreSettlesAKeptInsertAtOnceAndARefusedOneNever) {
  MemoryCacheStore store(1000);
  auto kept = trackedEntry("small");
  ASSERT_TRUE(store.insert(progressKey("kept"), kept));
  EXPECT_EQ(kept->write->state(), State::kWritten);
  auto refused = trackedEntry(std::string(2000, 'x'));
  ASSERT_FALSE(store.insert(progressKey("refused"), refused));
  EXPECT_EQ(refused->write->state(), State::kPending) << "the caller knows: insert said false";
}

// An entry may be inserted twice (two url requests keeping one coalesced answer): once a write
// of it landed, a later failed one does not make it lost.
TEST(WriteProgress, AnyWriteThatLandedKeepsItWritten) {
  WriteProgress landed_first;
  landed_first.settle(true);
  landed_first.settle(false);
  EXPECT_EQ(landed_first.state(), State::kWritten);
  WriteProgress landed_second;
  landed_second.settle(false);
  EXPECT_EQ(landed_second.state(), State::kFailed);
  landed_second.settle(true);
  EXPECT_EQ(landed_second.state(), State::kWritten);
}

class RocksWriteProgress : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    database = RocksDatabase::open(dir.path(), &error, env.get());
    ASSERT_TRUE(database) << error;
    store = std::make_unique<RocksCacheStore>(database, RocksCacheStore::Options{});
  }
  void TearDown() override {
    store.reset();  // writes what it accepted, then the database closes before the file system
    database.reset();
  }
  TempDir dir;
  std::shared_ptr<FullDiskFileSystem> disk =
      std::make_shared<FullDiskFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(disk);
  std::shared_ptr<RocksDatabase> database;
  std::unique_ptr<RocksCacheStore> store;
};

TEST_F(RocksWriteProgress, AnInsertIsSettledWrittenOnceItsRecordIsDurable) {
  disk->slow = true;  // the write takes 1.5 s: the insert returns long before
  auto entry = trackedEntry("a body worth a record");
  ASSERT_TRUE(store->insert(progressKey("written"), entry));
  EXPECT_EQ(entry->write->state(), State::kPending);
  EXPECT_EQ(settled(*entry->write), State::kWritten);
  disk->slow = false;
  auto read = store->lookup(progressKey("written"), 2);
  ASSERT_TRUE(read.entry);
  EXPECT_EQ(read.entry->body, "a body worth a record");
}

TEST_F(RocksWriteProgress, AnInsertWhoseWriteFailsIsSettledFailedAndNotServed) {
  disk->full = true;
  auto entry = trackedEntry(std::string(100'000, 'y'));
  ASSERT_TRUE(store->insert(progressKey("lost"), entry))
      << "accepted: the disk is not known full yet";
  EXPECT_EQ(settled(*entry->write), State::kFailed);
  EXPECT_FALSE(store->lookup(progressKey("lost"), 2).entry);
  disk->full = false;  // the database closes on a disk with room
}

}  // namespace
}  // namespace arkroute::cache
