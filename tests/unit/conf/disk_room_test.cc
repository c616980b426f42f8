// Unit tests for the cache's disk check: free space and what the cache holds, and the warning
// check and serve print when cache.max_bytes is more than the disk can hold.
#include "conf/disk_room.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace arkroute {
namespace {

// A fresh directory under /tmp, removed at the end of the test.
class CacheDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/arkroute-disk-room-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  CacheConfig cacheOf(const std::string& max_bytes) const {
    CacheConfig cache;
    cache.enabled = true;
    cache.path = dir_ + "/cache";
    cache.max_bytes = parseByteSize(max_bytes).value();
    return cache;
  }
  std::string dir_;
};

TEST_F(CacheDirectory, CountsTheFilesTheCacheHoldsAndTheFreeSpace) {
  std::filesystem::create_directories(dir_ + "/cache/sub");
  std::ofstream(dir_ + "/cache/sub/000001.blob") << std::string(1 << 20, 'x');
  auto room = diskRoomFor(dir_ + "/cache");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->held, 1u << 20);
  EXPECT_GT(room->available, 0u);
}

TEST_F(CacheDirectory, ACacheLargerThanTheDiskIsAWarningNamingTheSizes) {
  auto warning = cacheDiskWarning(cacheOf("900TiB"));  // not created yet: its parent is measured
  ASSERT_TRUE(warning);
  EXPECT_NE(warning->find("cache.max_bytes (900.0 TiB) is more than the disk under " + dir_),
            std::string::npos)
      << *warning;
  EXPECT_NE(warning->find("free"), std::string::npos) << *warning;
}

TEST_F(CacheDirectory, ACacheThatFitsOrIsOffGetsNoWarning) {
  EXPECT_FALSE(cacheDiskWarning(cacheOf("1MiB")));
  CacheConfig off = cacheOf("900TiB");
  off.enabled = false;
  EXPECT_FALSE(cacheDiskWarning(off));
}

// What serve would only find when it opens the database, check says: a path under a file.
TEST_F(CacheDirectory, APathUnderAFileIsAProblemAndANewDirectoryIsNot) {
  std::ofstream(dir_ + "/file") << "not a directory";
  auto problem = cachePathProblem(dir_ + "/file/cache");
  ASSERT_TRUE(problem);
  EXPECT_EQ(*problem, "cache.path '" + dir_ + "/file/cache': " + dir_ + "/file is not a directory");
  EXPECT_TRUE(cachePathProblem(dir_ + "/file"));
  EXPECT_FALSE(cachePathProblem(dir_ + "/new/cache"));
  EXPECT_FALSE(cachePathProblem(dir_));
  EXPECT_FALSE(cachePathProblem(""));
  EXPECT_FALSE(cachePathWarning(dir_ + "/new/cache")) << "a directory this user may write in";
  EXPECT_FALSE(cachePathWarning(dir_ + "/file/cache")) << "a problem, not a warning";
}

TEST(HumanBytes, UsesTheLargestUnitBelowTheSize) {
  EXPECT_EQ(humanBytes(0), "0 B");
  EXPECT_EQ(humanBytes(1023), "1023 B");
  EXPECT_EQ(humanBytes(1536), "1.5 KiB");
  EXPECT_EQ(humanBytes(20ULL << 30), "20.0 GiB");
}

}  // namespace
}  // namespace arkroute
