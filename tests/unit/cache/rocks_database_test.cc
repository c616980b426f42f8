// RocksDatabase: the column families and their options, clear open errors, and a full disk that
// stops writes (never the process) while reads go on, until RocksDB recovers (and what the cache
// store keeps of its own across it: the URL secret).
#include "cache/rocks_database.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cache/rocks_store.h"
#include "unit/cache/faulty_disk.h"
#include "unit/cache/temp_dir.h"

namespace arkroute::cache {
namespace {

// A database directory on a file system that can be made full.
class OnAFaultyDisk : public ::testing::Test {
 protected:
  std::unique_ptr<RocksDatabase> open() {
    return RocksDatabase::open(dir.path(), &error, env.get());
  }
  TempDir dir;
  std::shared_ptr<FullDiskFileSystem> disk =
      std::make_shared<FullDiskFileSystem>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(disk);  // outlives the database
  std::string error;
};

// Writes "kept" = "1" to family.
bool putKept(RocksDatabase& database, rocksdb::ColumnFamilyHandle* family) {
  rocksdb::WriteBatch batch;
  batch.Put(family, "kept", "1");
  return database.write(&batch).ok();
}

// Waits (bounded) until the database's writes are no longer stopped.
bool writesResume(const RocksDatabase& database) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (database.writesStopped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !database.writesStopped();
}

// Debian's RocksDB 7.8 aborts on a write to a file whose last append failed (a debug assertion
// left on): with the disk full, the next info-log line or WAL write would end the gateway. Once
// the disk has room again, RocksDB recovers on its own and writes go on.
TEST_F(OnAFaultyDisk, AFullDiskStopsWritesNotTheProcessUntilRocksDbRecovers) {
  auto database = open();
  ASSERT_TRUE(database) << error;
  rocksdb::ColumnFamilyHandle* family = database->family(RocksDatabase::kLedgerFamily);
  ASSERT_TRUE(putKept(*database, family));

  disk->full = true;
  for (int i = 0; i < 3; ++i) {
    rocksdb::WriteBatch batch;
    batch.Put(family, "lost-" + std::to_string(i), std::string(100'000, 'x'));
    rocksdb::Status status = database->write(&batch);
    EXPECT_TRUE(status.IsIOError()) << status.ToString();
  }
  EXPECT_TRUE(database->writesStopped());
  for (int i = 0; i < 2; ++i) {  // flushes fail too, and log about it
    EXPECT_FALSE(database->db()->Flush(rocksdb::FlushOptions()).ok());
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // RocksDB retries; its recovery fails
  EXPECT_TRUE(database->writesStopped()) << "still full: still stopped";
  rocksdb::WriteBatch while_full;
  while_full.Put(family, "while-full", "1");
  EXPECT_TRUE(database->write(&while_full).IsIOError());

  disk->full = false;
  ASSERT_TRUE(writesResume(*database)) << "RocksDB did not recover within 30 s";
  rocksdb::WriteBatch after;
  after.Put(family, "after", "1");
  EXPECT_TRUE(database->write(&after).ok());
  std::string value;
  ASSERT_TRUE(database->db()->Get(rocksdb::ReadOptions(), family, "kept", &value).ok());
  EXPECT_EQ(value, "1");
  ASSERT_TRUE(database->db()->Get(rocksdb::ReadOptions(), family, "after", &value).ok());
  EXPECT_EQ(value, "1");
  EXPECT_TRUE(
      database->db()->Get(rocksdb::ReadOptions(), family, "while-full", &value).IsNotFound());
  database.reset();  // closes before the file system goes
  for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_NE(file.path().filename().string().rfind("LOG", 0), 0u)
        << "RocksDB's info log goes to stderr, not to files on the database's disk: "
        << file.path();
  }
}

// A write that fails before any other is held in memory (the first after an open, on a disk that
// just filled): RocksDB recovers without flushing anything, so it keeps the failed log file, and
// Debian's RocksDB aborts the process at the next write to it. Writes stay stopped until a restart
// instead, and the reopened database takes them.
TEST_F(OnAFaultyDisk, AWriteThatFailsWithNothingInMemoryStopsWritesUntilARestart) {
  {
    auto database = open();
    ASSERT_TRUE(database) << error;
    rocksdb::ColumnFamilyHandle* family = database->family(RocksDatabase::kLedgerFamily);
    disk->full = true;
    EXPECT_FALSE(putKept(*database, family));
    disk->full = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (database->recoveries() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(database->recoveries(), 1u) << "RocksDB did not report its recovery within 30 s";
    ASSERT_TRUE(database->writesStopped()) << "a write now would abort the process";
    EXPECT_FALSE(putKept(*database, family));
  }
  auto reopened = open();
  ASSERT_TRUE(reopened) << error;
  EXPECT_FALSE(reopened->writesStopped());
  EXPECT_TRUE(putKept(*reopened, reopened->family(RocksDatabase::kLedgerFamily)));
}

// A cache URL secret that a full disk kept from being stored at open goes in the batch of the first
// entry stored: no entry is on disk without the secret its URLs are tagged with, and those URLs
// still open after a restart. (The database held a write already, so RocksDB can recover.)
TEST_F(OnAFaultyDisk, AUrlSecretThatCouldNotBeStoredGoesWithTheFirstEntry) {
  std::string secret;
  {
    std::shared_ptr<RocksDatabase> database = open();
    ASSERT_TRUE(database) << error;
    ASSERT_TRUE(putKept(*database, database->family(RocksDatabase::kLedgerFamily)));
    disk->full = true;
    RocksCacheStore store(database, RocksCacheStore::Options{});
    secret = store.urlSecret();
    ASSERT_TRUE(database->writesStopped()) << "the secret's write met the full disk";
    disk->full = false;
    ASSERT_TRUE(writesResume(*database)) << "RocksDB did not recover within 30 s";
    simdjson::dom::parser parser;
    auto key =
        CacheKey::make("sim", "m", parser.parse(std::string(R"({"prompt":"fox"})")).value(), "");
    ASSERT_TRUE(
        store.insert(key, CacheEntry{"fox body", "application/json", "m", 0.01, 0, 60'000}));
  }  // the store's destructor writes what it accepted
  std::shared_ptr<RocksDatabase> reopened = open();
  ASSERT_TRUE(reopened) << error;
  RocksCacheStore store(reopened, RocksCacheStore::Options{});
  EXPECT_EQ(store.urlSecret(), secret);
  EXPECT_EQ(store.stats().entries, 1u);
}

// writesStopped() runs on the event loops (is there room for a url answer?): it answers at once
// while another thread's write is in progress, however long the disk takes with it.
TEST_F(OnAFaultyDisk, WritesStoppedAnswersAtOnceWhileASlowWriteIsInProgress) {
  auto database = open();
  ASSERT_TRUE(database) << error;
  rocksdb::ColumnFamilyHandle* family = database->family(RocksDatabase::kLedgerFamily);
  disk->slow = true;
  std::thread writer([&] { EXPECT_TRUE(putKept(*database, family)); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!disk->appending && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(disk->appending) << "the write never reached the disk";
  disk->slow = false;  // the append in progress still takes its 1.5 s
  auto asked = std::chrono::steady_clock::now();
  bool stopped = database->writesStopped();
  auto took = std::chrono::steady_clock::now() - asked;
  bool still_writing = disk->appending;
  writer.join();
  EXPECT_FALSE(stopped);
  EXPECT_TRUE(still_writing) << "answered only once the write was done";
  EXPECT_LT(took, std::chrono::milliseconds(500));
}

// Opening needs to write (a new MANIFEST, a new WAL): on a full disk it opens read-only instead,
// so what is stored can still be read.
TEST_F(OnAFaultyDisk, AFullDiskAtOpenOpensReadOnlyWithWritesStopped) {
  {
    auto database = open();
    ASSERT_TRUE(database) << error;
    ASSERT_TRUE(putKept(*database, database->family(RocksDatabase::kKeysFamily)));
  }
  disk->full = true;
  auto database = open();
  ASSERT_TRUE(database) << error;
  EXPECT_TRUE(database->writesStopped());
  rocksdb::ColumnFamilyHandle* keys = database->family(RocksDatabase::kKeysFamily);
  std::string value;
  ASSERT_TRUE(database->db()->Get(rocksdb::ReadOptions(), keys, "kept", &value).ok());
  EXPECT_EQ(value, "1");
  rocksdb::WriteBatch refused;
  refused.Put(keys, "new", "1");
  EXPECT_FALSE(database->write(&refused).ok());
  disk->full = false;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(database->writesStopped()) << "read-only until a restart";
  database.reset();
}

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
  // The refused open left the first one's lock in place: closing a descriptor of LOCK would have
  // ended it (POSIX locks), and another process could then open the database beside this one.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = ::open((dir.path() + "/LOCK").c_str(), O_RDWR);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    _exit(fd >= 0 && fcntl(fd, F_SETLK, &lock) == 0 ? 1 : 0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "another process took the lock";
}

// A gateway in another process holds the LOCK file: the open is refused naming that process,
// before RocksDB is asked (which would log warnings on its way to the same refusal).
TEST(RocksDatabase, ADatabaseAnotherProcessHoldsIsRefusedNamingThatProcess) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(RocksDatabase::open(dir.path(), &error)) << error;  // creates, then closes, LOCK
  int locked[2];
  int release[2];
  ASSERT_EQ(pipe(locked), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // holds the lock as an open database does, until the parent says
    int fd = ::open((dir.path() + "/LOCK").c_str(), O_RDWR);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    char byte = fd >= 0 && fcntl(fd, F_SETLK, &lock) == 0 ? 'y' : 'n';
    (void)!write(locked[1], &byte, 1);
    (void)!read(release[0], &byte, 1);
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(locked[0], &byte, 1), 1);
  EXPECT_EQ(byte, 'y');
  EXPECT_FALSE(RocksDatabase::open(dir.path(), &error));
  EXPECT_EQ(error, "cache database " + dir.path() + " is locked by another process (pid " +
                       std::to_string(child) + ": is another arkroute using this cache.path?)");
  (void)!write(release[1], &byte, 1);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(RocksDatabase::open(dir.path(), &error)) << error;  // released with the process
  for (int fd : {locked[0], locked[1], release[0], release[1]}) close(fd);
}

TEST(RocksDatabase, TwoSpellingsOfOnePathHaveOneCanonicalForm) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/real/db");
  std::filesystem::create_directory_symlink(dir.path() + "/real", dir.path() + "/link");
  std::string canonical = RocksDatabase::canonicalPath(dir.path() + "/real/db");
  EXPECT_EQ(RocksDatabase::canonicalPath(dir.path() + "/link/./db/"), canonical);
  EXPECT_EQ(RocksDatabase::canonicalPath(dir.path() + "/real/../real/db"), canonical);
  EXPECT_NE(RocksDatabase::canonicalPath(dir.path() + "/real/other"), canonical);
  EXPECT_EQ(canonical.front(), '/');
  EXPECT_EQ(RocksDatabase::canonicalPath(""), "");
  EXPECT_EQ(RocksDatabase::lexicalPath(dir.path() + "/link/./db/"), dir.path() + "/link/db");
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
