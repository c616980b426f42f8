// The one RocksDB database ArkRoute keeps at cache.path, opened (created if missing) with every
// column family it uses: "cache" (digest → record; integrated BlobDB, so image bodies of 8 KiB and
// more live in blob files), "cache_meta" (digest → created, expiry, size, model: TTL sweeps, purges
// and index upkeep without reading bodies), "cache_by_time" (big-endian created_ms + digest →
// record size: oldest-first eviction and totals at open), and "ledger" and "keys", reserved for the
// money features. The WAL is on and writes are not synced: an acknowledged write survives a
// process kill (not a power cut). Column families found on disk but not listed here are opened too,
// so a database written by a newer build still opens.
//
// Every write goes through write(). After a write fails for an I/O reason (a full disk, an I/O
// error), no later write reaches RocksDB until RocksDB reports that it recovered: the cache and the
// ledger stop storing, reads and serving go on, and the reason is logged. RocksDB recovers on its
// own from a full disk: its file manager checks the free space every few seconds and, once the
// largest memtable (64 MiB) fits, flushes the memtables to new files and switches to a new WAL
// (an EventListener tells us, and writes go on). Other I/O errors are not recovered: writes stay
// stopped until a restart. Opened on a full disk, the database is read-only until a restart.
// Debian's RocksDB 7.8 keeps its debug assertions, and a file writer used again after a failed
// append aborts the process; its info log did exactly that on a full disk, so that log goes to
// stderr (rocks_logger.h), and no write is ever retried on a WAL that failed. RocksDB leaves a
// failed WAL only when its recovery switches an active memtable that holds writes; a write that
// fails while every active memtable is empty (the first write after an open, say) would have it
// resume on the failed WAL and abort at the next write, so that failure stops writes until the
// gateway restarts.
//
// Memory and the write-ahead log are bounded (RocksLimits), whatever the load: RocksDB's defaults
// (64 MiB memtables per family, a 32 MiB block cache per family, a WAL limit of four times all
// memtables) let six families hold ~1 GiB of memtables, and the ledger's small steady writes kept
// every WAL file alive (a WAL file goes only once every family with data in it has flushed): a
// cache filled with 1.2 GB of records used 2.6 GB of disk, 1.3 GB of it old WAL.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace arkroute::cache {

// Bounds on what RocksDB keeps besides the records (the defaults are the gateway's).
struct RocksLimits {
  // All families' memtables together (a soft bound: a full memtable is held while it flushes).
  // The records' memtable is half of it, each other family's a sixteenth.
  uint64_t memtable_bytes = 128ull << 20;
  // The write-ahead log files kept: past it, the families that hold the oldest file are flushed
  // so the file can go.
  uint64_t wal_bytes = 128ull << 20;
  // One block cache shared by every family (index, filter and data blocks read from SST files).
  uint64_t block_cache_bytes = 32ull << 20;
};

class RocksDatabase {
 public:
  static constexpr std::string_view kCacheFamily = "cache";
  static constexpr std::string_view kCacheMetaFamily = "cache_meta";
  static constexpr std::string_view kCacheByTimeFamily = "cache_by_time";
  static constexpr std::string_view kLedgerFamily = "ledger";
  static constexpr std::string_view kKeysFamily = "keys";
  static constexpr uint64_t kMinBlobBytes = 8 << 10;

  // Called once at startup (or by a CLI command). On a full disk, where RocksDB cannot write the
  // files replaying its log needs, it opens read-only instead (and says so on stderr): reads work,
  // writesStopped() is true until the process restarts. Returns nullptr and a sentence in *error
  // when the database cannot be opened: "cache database PATH is locked by another process (...)"
  // when another process (or another open in this one) holds it, else "cannot open cache database
  // PATH: <reason>" (not writable, not a directory, corrupt, ...).
  // env: for tests that inject file-system faults (nullptr: the default environment); limits: for
  // tests that need small bounds.
  static std::unique_ptr<RocksDatabase> open(const std::string& path, std::string* error,
                                             rocksdb::Env* env = nullptr,
                                             const RocksLimits& limits = RocksLimits());
  ~RocksDatabase();
  RocksDatabase(const RocksDatabase&) = delete;
  RocksDatabase& operator=(const RocksDatabase&) = delete;

  // Thread-safe handle, valid while this object lives. For reads: writes go through write().
  rocksdb::DB* db() const { return db_.get(); }
  // Applies batch (unsynced, WAL on), one writer at a time. After an I/O failure, returns that
  // failure without writing until RocksDB has recovered (see above). Thread-safe.
  rocksdb::Status write(rocksdb::WriteBatch* batch);
  // True from a write's I/O failure until RocksDB recovers from it.
  bool writesStopped() const;
  // How many times RocksDB has reported recovering from a background error since the open.
  uint64_t recoveries() const { return recoveries_.load(); }
  // The handle of a column family by name; nullptr when there is none. Owned by this object.
  rocksdb::ColumnFamilyHandle* family(std::string_view name) const;
  const std::string& path() const { return path_; }
  // path as an absolute path with symbolic links resolved: how a gateway and the CLI tell whether
  // they mean the same database. "" for "". Where a link cannot be followed (the service's
  // /var/lib/arkroute leads into /var/lib/private, closed to other users), lexicalPath's form.
  static std::string canonicalPath(const std::string& path);
  // path made absolute and normalised, links left as they are.
  static std::string lexicalPath(const std::string& path);

 private:
  class RecoveryListener;
  RocksDatabase() = default;
  // Called by RocksDB (its own thread) when it has recovered from a background error.
  void onRecovered(const rocksdb::Status& from);

  std::string path_;
  std::string canonical_path_;  // its entry in the process's set of open databases
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  mutable std::mutex write_mutex_;
  rocksdb::Status write_failure_;  // the last write's I/O failure, else ok; guarded by write_mutex_
  // Recoveries RocksDB reported, and how many there had been before the write that failed: a
  // recovery after that write lifts the stop. A count, not a flag, so a recovery that ends while
  // the failed write is still returning is not missed.
  std::atomic<uint64_t> recoveries_{0};
  // Written under write_mutex_, read without it: writesStopped() runs on the event loops, which
  // must not wait for a write of a multi-MB record in progress (or stalled by RocksDB).
  std::atomic<uint64_t> recoveries_before_failure_{0};
  std::atomic<bool> write_failed_{false};  // a write has failed since the open
  bool read_only_ = false;  // opened read-only on a full disk: stopped until a restart
  // A write failed while no family held unflushed writes: stopped until a restart (see write()).
  std::atomic<bool> stopped_until_restart_{false};
  bool memtablesEmpty() const;
};

}  // namespace arkroute::cache
