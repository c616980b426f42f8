// RocksDatabase's bounds (RocksLimits): the write-ahead log files kept, the memtables' memory and
// one block cache for every family, under the gateway's write pattern (records in one family, a
// trickle of ledger rows in another). Small limits keep the tests fast; the mechanism is the same.
#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "cache/rocks_database.h"
#include "unit/cache/temp_dir.h"

namespace arkroute::cache {
namespace {

constexpr RocksLimits kSmall{
    .memtable_bytes = 1 << 20, .wal_bytes = 4 << 20, .block_cache_bytes = 1 << 20};

// RocksDB deletes an obsolete log while this walks the directory: such a file counts as empty.
uint64_t walBytes(const std::string& path) {
  uint64_t total = 0;
  for (const auto& file : std::filesystem::directory_iterator(path)) {
    std::error_code gone;
    uint64_t size = file.path().extension() == ".log" ? file.file_size(gone) : 0;
    if (!gone) total += size;
  }
  return total;
}

uint64_t memtableBytes(const RocksDatabase& database) {
  uint64_t total = 0;
  database.db()->GetAggregatedIntProperty("rocksdb.size-all-mem-tables", &total);
  return total;
}

void put(RocksDatabase& database, std::string_view family, const std::string& key,
         const std::string& value) {
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(database.family(family), key, value).ok());
  ASSERT_TRUE(database.write(&batch).ok());
}

std::unique_ptr<RocksDatabase> openSmall(const TempDir& dir) {
  std::string error;
  auto database = RocksDatabase::open(dir.path(), &error, nullptr, kSmall);
  EXPECT_TRUE(database) << error;
  return database;
}

// Polls (flushes and file deletions run on RocksDB's background threads) for at most 20 s.
template <typename Done>
bool eventually(Done done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Without a WAL bound, the ledger's rows (a few a second, never enough to fill their memtable)
// kept every WAL file since the start alive, records included: disk use grew to twice the cache.
TEST(RocksDatabaseLimits, LedgerTrickleDoesNotKeepTheRecordsLogAlive) {
  TempDir dir;
  auto database = openSmall(dir);
  ASSERT_TRUE(database);
  const std::string record(4096, 'r');
  for (int i = 0; i < 10000; ++i) {  // 40 MiB of records, ten times the WAL bound
    put(*database, RocksDatabase::kCacheFamily, "record-" + std::to_string(i), record);
    if (i % 50 == 0) put(*database, RocksDatabase::kLedgerFamily, "row", std::to_string(i));
  }
  uint64_t bound = kSmall.wal_bytes + kSmall.memtable_bytes;  // the bound + the current file
  EXPECT_TRUE(eventually([&] { return walBytes(dir.path()) <= bound; }))
      << walBytes(dir.path()) << " bytes of WAL, bound " << bound;
  std::string value;
  ASSERT_TRUE(database->db()
                  ->Get(rocksdb::ReadOptions(), database->family(RocksDatabase::kLedgerFamily),
                        "row", &value)
                  .ok());
  EXPECT_EQ(value, "9950");
}

TEST(RocksDatabaseLimits, MemtablesStayWithinTheirBudget) {
  TempDir dir;
  auto database = openSmall(dir);
  ASSERT_TRUE(database);
  const std::string row(1024, 'l');
  for (int i = 0; i < 20000; ++i) {  // 20 MiB into one small family
    put(*database, RocksDatabase::kLedgerFamily, "row-" + std::to_string(i), row);
  }
  uint64_t bound = 2 * kSmall.memtable_bytes;  // a soft bound: a full memtable waits for its flush
  EXPECT_TRUE(eventually([&] { return memtableBytes(*database) <= bound; }))
      << memtableBytes(*database) << " bytes in memtables, bound " << bound;
}

TEST(RocksDatabaseLimits, EveryFamilySharesOneBlockCache) {
  TempDir dir;
  auto database = openSmall(dir);
  ASSERT_TRUE(database);
  for (std::string_view name : {RocksDatabase::kCacheFamily, RocksDatabase::kCacheMetaFamily,
                                RocksDatabase::kCacheByTimeFamily, RocksDatabase::kLedgerFamily,
                                RocksDatabase::kKeysFamily}) {
    uint64_t capacity = 0;
    ASSERT_TRUE(database->db()->GetIntProperty(database->family(name),
                                               "rocksdb.block-cache-capacity", &capacity))
        << name;
    EXPECT_EQ(capacity, kSmall.block_cache_bytes) << name;
  }
  rocksdb::Options records = database->db()->GetOptions(database->family("cache"));
  rocksdb::Options ledger = database->db()->GetOptions(database->family("ledger"));
  EXPECT_EQ(records.table_factory.get(), ledger.table_factory.get());
  EXPECT_EQ(records.write_buffer_size, kSmall.memtable_bytes / 2);
  EXPECT_EQ(ledger.write_buffer_size, kSmall.memtable_bytes / 16);
}

TEST(RocksDatabaseLimits, TheGatewayDefaultsAreBounded) {
  TempDir dir;
  std::string error;
  auto database = RocksDatabase::open(dir.path(), &error);
  ASSERT_TRUE(database) << error;
  rocksdb::DBOptions options = database->db()->GetDBOptions();
  EXPECT_EQ(options.db_write_buffer_size, RocksLimits().memtable_bytes);
  EXPECT_EQ(options.max_total_wal_size, RocksLimits().wal_bytes);
}

}  // namespace
}  // namespace arkroute::cache
