// RocksDatabase: options per column family, open with clear errors, handle lookup and teardown.
#include "cache/rocks_database.h"

#include <fcntl.h>
#include <rocksdb/cache.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

#include "cache/rocks_logger.h"
#include "proxy/http/error_line.h"

namespace arkroute::cache {

// Tells the database when RocksDB recovered from a background error (e.g. a full disk).
class RocksDatabase::RecoveryListener : public rocksdb::EventListener {
 public:
  explicit RecoveryListener(RocksDatabase* database) : database_(database) {}
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) database_->onRecovered(info.old_bg_error);
  }

 private:
  RocksDatabase* database_;  // outlives the DB: it closes the DB before its members go
};

namespace {

std::vector<std::string> familiesToOpen(const std::string& path) {
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName,
                                    std::string(RocksDatabase::kCacheFamily),
                                    std::string(RocksDatabase::kCacheMetaFamily),
                                    std::string(RocksDatabase::kCacheByTimeFamily),
                                    std::string(RocksDatabase::kLedgerFamily),
                                    std::string(RocksDatabase::kKeysFamily)};
  std::vector<std::string> on_disk;
  // Fails when the database does not exist yet: then there is nothing more to open.
  if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &on_disk).ok()) {
    for (std::string& name : on_disk) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(std::move(name));
      }
    }
  }
  return names;
}

rocksdb::ColumnFamilyOptions optionsFor(std::string_view family, const RocksLimits& limits,
                                        const std::shared_ptr<rocksdb::TableFactory>& tables) {
  rocksdb::ColumnFamilyOptions options;
  // The records' family takes most of the writes (whole images, until a flush moves them to blob
  // files): half the budget, so flushes and level-0 files stay few. The others hold small rows.
  bool records = family == RocksDatabase::kCacheFamily;
  options.write_buffer_size = static_cast<size_t>(limits.memtable_bytes / (records ? 2 : 16));
  options.table_factory = tables;
  if (records) {
    options.enable_blob_files = true;
    options.min_blob_size = RocksDatabase::kMinBlobBytes;
    options.enable_blob_garbage_collection = true;
  }
  return options;
}

// One table factory for every family, so they share one block cache.
std::shared_ptr<rocksdb::TableFactory> sharedTables(const RocksLimits& limits) {
  rocksdb::BlockBasedTableOptions tables;
  tables.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(limits.block_cache_bytes));
  return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(tables));
}

rocksdb::DBOptions databaseOptions(const RocksLimits& limits) {
  rocksdb::DBOptions options;
  options.db_write_buffer_size = static_cast<size_t>(limits.memtable_bytes);
  options.max_total_wal_size = limits.wal_bytes;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.info_log = std::make_shared<StderrRocksLogger>();  // no LOG files (rocks_logger.h)
  // Flushes and compactions yield the CPU to serving, like the cache's writer thread.
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH, rocksdb::CpuPriority::kLow)
      .PermitUncheckedError();
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow)
      .PermitUncheckedError();
  return options;
}

std::string describeOpenError(const rocksdb::Status& status, const std::string& path) {
  std::string reason = status.ToString();
  if (status.IsIOError() && reason.find("lock") != std::string::npos) {
    return "cache database " + path +
           " is locked by another process (is another arkroute using this cache.path?): " + reason;
  }
  return "cannot open cache database " + path + ": " + reason;
}

// The canonical paths of the databases this process has open, and the lock opens and closes take.
// Their LOCK files are never probed: closing any descriptor of a file ends every POSIX lock the
// process holds on it, RocksDB's own included (another process could then open the database too).
std::mutex open_paths_mutex;
std::set<std::string> open_paths;

// The pid of another process holding the database's LOCK file (RocksDB locks it with fcntl while
// it is open), or 0. Asked first so that a database a gateway holds is refused with one sentence,
// not with the warnings RocksDB logs on its way to the same refusal. Never for a path in
// open_paths (see there).
pid_t lockHolder(const std::string& path) {
  int fd = ::open((std::filesystem::path(path) / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  pid_t holder = fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK ? probe.l_pid : 0;
  ::close(fd);
  return holder;
}

}  // namespace

namespace {

std::string withoutTrailingSlash(std::string text) {
  while (text.size() > 1 && text.ends_with('/')) text.pop_back();
  return text;
}

}  // namespace

std::string RocksDatabase::lexicalPath(const std::string& path) {
  if (path.empty()) return {};
  std::error_code error;
  return withoutTrailingSlash(std::filesystem::absolute(path, error).lexically_normal().string());
}

std::string RocksDatabase::canonicalPath(const std::string& path) {
  if (path.empty()) return {};
  std::error_code error;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, error);
  if (error) return lexicalPath(path);
  return withoutTrailingSlash(canonical.string());
}

std::unique_ptr<RocksDatabase> RocksDatabase::open(const std::string& path, std::string* error,
                                                   rocksdb::Env* env, const RocksLimits& limits) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::shared_ptr<rocksdb::TableFactory> tables = sharedTables(limits);
  for (const std::string& name : familiesToOpen(path)) {
    descriptors.emplace_back(name, optionsFor(name, limits, tables));
  }
  std::string canonical = canonicalPath(path);
  std::lock_guard opening(open_paths_mutex);  // a probe never runs beside another open's
  if (pid_t holder = open_paths.count(canonical) ? 0 : lockHolder(path)) {
    *error = "cache database " + path + " is locked by another process (pid " +
             std::to_string(holder) + ": is another arkroute using this cache.path?)";
    return nullptr;
  }
  std::unique_ptr<RocksDatabase> database(new RocksDatabase());
  database->path_ = path;
  rocksdb::DB* db = nullptr;
  rocksdb::DBOptions options = databaseOptions(limits);
  if (env) options.env = env;
  options.listeners.push_back(std::make_shared<RecoveryListener>(database.get()));
  rocksdb::Status status = rocksdb::DB::Open(options, path, descriptors, &database->families_, &db);
  if (status.IsNoSpace()) {
    // A full disk: RocksDB could not write the files its recovery needs. Opened read-only, the
    // database still serves what it holds (cache hits, keys, the ledger), with writes stopped.
    rocksdb::Status read_only =
        rocksdb::DB::OpenForReadOnly(options, path, descriptors, &database->families_, &db);
    if (read_only.ok()) {
      http::writeErrorLine("arkroute: cache database " + path + " opened read-only (" +
                           status.ToString() +
                           "): stored entries, keys and the ledger are served, nothing new is "
                           "stored until the gateway restarts with free space");
      database->write_failure_ = status;
      database->read_only_ = true;
      status = read_only;
    }
  }
  if (!status.ok()) {
    *error = describeOpenError(status, path);
    return nullptr;
  }
  database->db_.reset(db);
  database->canonical_path_ = canonical;
  open_paths.insert(std::move(canonical));
  return database;
}

RocksDatabase::~RocksDatabase() {
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle* family : families_) db_->DestroyColumnFamilyHandle(family);
  db_->Close();
  std::lock_guard closing(open_paths_mutex);
  open_paths.erase(canonical_path_);
}

rocksdb::Status RocksDatabase::write(rocksdb::WriteBatch* batch) {
  std::lock_guard lock(write_mutex_);
  if (writesStopped()) return write_failure_;
  uint64_t recoveries = recoveries_.load();
  rocksdb::Status status = db_->Write(rocksdb::WriteOptions(), batch);
  if (status.IsIOError() || status.IsIOFenced()) {
    write_failure_ = status;
    recoveries_before_failure_.store(recoveries);
    write_failed_.store(true);
    if (memtablesEmpty()) {
      // RocksDB's recovery would flush nothing, keep the failed WAL, and abort on the next write.
      stopped_until_restart_.store(true);
      http::writeErrorLine("arkroute: cache database " + path_ + ": a write failed (" +
                           status.ToString() +
                           ") before any other was held in memory; the cache and the ledger store "
                           "nothing more until the gateway restarts with free space (serving and "
                           "reads go on)");
      return status;
    }
    http::writeErrorLine("arkroute: cache database " + path_ + ": a write failed (" +
                         status.ToString() +
                         "); the cache and the ledger store nothing more until RocksDB recovers "
                         "(after a full disk: on its own, once 64 MiB are free) or the gateway "
                         "restarts (serving and reads go on)");
  }
  return status;
}

// Only a non-empty active memtable makes RocksDB's recovery switch to a new WAL (immutable ones are
// flushed without a switch), so only those count.
bool RocksDatabase::memtablesEmpty() const {
  for (rocksdb::ColumnFamilyHandle* family : families_) {
    uint64_t entries = 0;
    db_->GetIntProperty(family, rocksdb::DB::Properties::kNumEntriesActiveMemTable, &entries);
    if (entries != 0) return false;
  }
  return true;
}

void RocksDatabase::onRecovered(const rocksdb::Status& from) {
  ++recoveries_;
  http::writeErrorLine("arkroute: cache database " + path_ + ": RocksDB recovered from \"" +
                       from.ToString() + "\"; the cache and the ledger store again");
}

bool RocksDatabase::writesStopped() const {
  if (read_only_ || stopped_until_restart_.load()) return true;
  return write_failed_.load() && recoveries_.load() == recoveries_before_failure_.load();
}

rocksdb::ColumnFamilyHandle* RocksDatabase::family(std::string_view name) const {
  for (rocksdb::ColumnFamilyHandle* family : families_) {
    if (family->GetName() == name) return family;
  }
  return nullptr;
}

}  // namespace arkroute::cache
