// RocksDatabase: the column families and their options, and clear open errors.
#include "cache/rocks_database.h"

#include <gtest/gtest.h>
#include <rocksdb/options.h>

#include <fstream>

#include "unit/cache/temp_dir.h"

namespace arkroute::cache {
namespace {

TEST(RocksDatabase, CreatesEveryColumnFamilyWithBlobFilesForRecords) {
  TempDir dir;
  std::string error;
  auto database = RocksDatabase::open(dir.path() + "/db", &error);
  ASSERT_TRUE(database) << error;
  for (std::string_view name : {RocksDatabase::kCacheFamily, RocksDatabase::kCacheMetaFamily,
                                RocksDatabase::kCacheByTimeFamily, RocksDatabase::kLedgerFamily,
                                RocksDatabase::kKeysFamily}) {
    ASSERT_NE(database->family(name), nullptr) << name;
    EXPECT_EQ(database->family(name)->GetName(), name);
  }
  EXPECT_EQ(database->family("no-such-family"), nullptr);
  rocksdb::Options records = database->db()->GetOptions(database->family("cache"));
  EXPECT_TRUE(records.enable_blob_files);
  EXPECT_EQ(records.min_blob_size, 8192u);
  EXPECT_FALSE(database->db()->GetOptions(database->family("cache_meta")).enable_blob_files);
  EXPECT_EQ(database->path(), dir.path() + "/db");
}

TEST(RocksDatabase, ASecondOpenOfTheSamePathFailsWithAClearMessage) {
  TempDir dir;
  std::string error;
  auto first = RocksDatabase::open(dir.path(), &error);
  ASSERT_TRUE(first) << error;
  EXPECT_FALSE(RocksDatabase::open(dir.path(), &error));
  EXPECT_EQ(error.rfind("cache database " + dir.path() + " is locked by another process", 0), 0u)
      << error;
}

TEST(RocksDatabase, APathThatCannotBeCreatedFailsWithTheReason) {
  TempDir dir;
  std::ofstream(dir.path() + "/file") << "not a directory";
  std::string error;
  EXPECT_FALSE(RocksDatabase::open(dir.path() + "/file/db", &error));
  EXPECT_EQ(error.rfind("cannot open cache database " + dir.path() + "/file/db: ", 0), 0u) << error;
  EXPECT_GT(error.size(),
            std::string("cannot open cache database ").size() + dir.path().size() + 12);
}

TEST(RocksDatabase, FamiliesFromANewerBuildAreOpenedToo) {
  TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* future = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "future", &future).ok());
    db->DestroyColumnFamilyHandle(future);
  }
  std::string error;
  auto database = RocksDatabase::open(dir.path(), &error);
  ASSERT_TRUE(database) << error;
  EXPECT_NE(database->family("future"), nullptr);
  EXPECT_NE(database->family(RocksDatabase::kCacheFamily), nullptr);
}

}  // namespace
}  // namespace arkroute::cache
