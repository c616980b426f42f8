// RocksCacheStore: lookups on the caller's thread, writes on the background writer, index upkeep.
#include "cache/rocks_store.h"

#include <rocksdb/write_batch.h>

#include <algorithm>

#include "cache/cache_record.h"
#include "proxy/http/error_line.h"

namespace arkroute::cache {

namespace {

constexpr size_t kRemovalsPerBatch = 256;
constexpr uint64_t kMaxHotBytes = 256ull << 20;
constexpr size_t kTimeKeyBytes = 8 + sizeof(Digest);

// Reads of whole records skip RocksDB's own checksums: each record carries an XXH3-64 of all its
// bytes, checked by decodeRecord, while Debian's portable RocksDB build computes its CRC32C in
// software (~1 GB/s): for a 1.4 MB image, half of a cold hit's CPU on the event loop.
rocksdb::ReadOptions recordReadOptions() {
  rocksdb::ReadOptions options;
  options.verify_checksums = false;
  return options;
}

// "cache_meta" value: created_ms, expires_ms, record size (u64 little-endian each), then model.
struct Meta {
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  uint64_t size = 0;
  std::string model;
};

void putLittleEndian(uint64_t value, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t readLittleEndian(const char* data) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(data[i]);
  return value;
}

std::string encodeMeta(const Meta& meta) {
  std::string out;
  putLittleEndian(static_cast<uint64_t>(meta.created_ms), &out);
  putLittleEndian(static_cast<uint64_t>(meta.expires_ms), &out);
  putLittleEndian(meta.size, &out);
  return out + meta.model;
}

bool decodeMeta(std::string_view bytes, Meta* meta) {
  if (bytes.size() < 24) return false;
  meta->created_ms = static_cast<int64_t>(readLittleEndian(bytes.data()));
  meta->expires_ms = static_cast<int64_t>(readLittleEndian(bytes.data() + 8));
  meta->size = readLittleEndian(bytes.data() + 16);
  meta->model.assign(bytes.substr(24));
  return true;
}

// "cache_by_time" key: created_ms big-endian (sorts oldest first), then the digest.
std::string timeKey(int64_t created_ms, const Digest& digest) {
  std::string key(8, '\0');
  uint64_t time = static_cast<uint64_t>(created_ms);
  for (int i = 7; i >= 0; --i, time >>= 8) key[static_cast<size_t>(i)] = static_cast<char>(time);
  return key.append(reinterpret_cast<const char*>(digest.data()), digest.size());
}

rocksdb::Slice asSlice(const Digest& digest) {
  return rocksdb::Slice(reinterpret_cast<const char*>(digest.data()), digest.size());
}

bool digestFrom(rocksdb::Slice bytes, Digest* digest) {
  if (bytes.size() != digest->size()) return false;
  std::copy(bytes.data(), bytes.data() + bytes.size(), digest->begin());
  return true;
}

}  // namespace

std::unique_ptr<RocksCacheStore> RocksCacheStore::open(const std::string& path, uint64_t max_bytes,
                                                       std::string* error) {
  Options options;
  options.max_bytes = max_bytes;
  return open(path, options, error);
}

std::unique_ptr<RocksCacheStore> RocksCacheStore::open(const std::string& path,
                                                       const Options& options, std::string* error) {
  std::shared_ptr<RocksDatabase> database = RocksDatabase::open(path, error);
  if (!database) return nullptr;
  return std::make_unique<RocksCacheStore>(std::move(database), options);
}

RocksCacheStore::RocksCacheStore(std::shared_ptr<RocksDatabase> database, const Options& options)
    : database_(std::move(database)),
      db_(database_->db()),
      records_(database_->family(RocksDatabase::kCacheFamily)),
      meta_(database_->family(RocksDatabase::kCacheMetaFamily)),
      by_time_(database_->family(RocksDatabase::kCacheByTimeFamily)),
      options_(options),
      max_bytes_(options.max_bytes),
      hot_(options.hot_bytes ? options.hot_bytes : std::min(options.max_bytes / 4, kMaxHotBytes)),
      writer_(options.max_pending_bytes,
              [this](const BackgroundWriter::Job& job) { writeJob(job); }) {
  loadTotals();
  loadUrlSecret();
}

// The URL secret lives in the default family, beside the entries its tags name: image URLs
// survive a restart, and go with the database. Created once, when the database has none; a read
// that fails otherwise never replaces it (this process's own secret serves, and its URLs end with
// the process: said on stderr). One that cannot be stored yet is stored with the first entry.
void RocksCacheStore::loadUrlSecret() {
  rocksdb::ColumnFamilyHandle* family = db_->DefaultColumnFamily();
  rocksdb::Slice key(kUrlSecretKey.data(), kUrlSecretKey.size());
  std::string stored;
  rocksdb::Status read = db_->Get(rocksdb::ReadOptions(), family, key, &stored);
  if (read.ok() && stored.size() == 32) {
    url_secret_ = std::move(stored);
    return;
  }
  if (!read.IsNotFound()) {
    std::string why = read.ok() ? "it is not 32 bytes long" : read.ToString();
    http::writeErrorLine("arkroute: warning: the cache's URL secret cannot be read (" + why +
                         "): image URLs handed out now stop working at the next restart");
    return;
  }
  rocksdb::WriteBatch batch;
  batch.Put(family, key, url_secret_);
  rocksdb::Status written = database_->write(&batch);
  if (written.ok()) return;
  // Not stored now (a full disk): it goes in the batch of the first entry that is, so no entry is
  // ever on disk without the secret its URLs are tagged with.
  std::lock_guard lock(index_mutex_);
  url_secret_unstored_ = true;
  http::writeErrorLine("arkroute: warning: the cache's URL secret is not stored yet (" +
                       written.ToString() + "): it will be with the first entry the cache stores");
}

RocksCacheStore::~RocksCacheStore() = default;

// Totals from "cache_by_time" (value = record size). A value of another length comes from an
// older build: its size is read from "cache_meta".
void RocksCacheStore::loadTotals() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), by_time_));
  uint64_t entries = 0, bytes = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++entries;
    if (it->value().size() == 8) {
      bytes += readLittleEndian(it->value().data());
      continue;
    }
    Digest digest;
    std::string meta_bytes;
    Meta meta;
    if (it->key().size() == kTimeKeyBytes &&
        digestFrom(rocksdb::Slice(it->key().data() + 8, sizeof(Digest)), &digest) &&
        db_->Get(rocksdb::ReadOptions(), meta_, asSlice(digest), &meta_bytes).ok() &&
        decodeMeta(meta_bytes, &meta)) {
      bytes += meta.size;
    }
  }
  entries_ = entries;
  bytes_ = bytes;
}

LookupResult RocksCacheStore::lookup(const CacheKey& key, int64_t now_ms) {
  return find(key.digest(), &key.canonical(), now_ms);
}

LookupResult RocksCacheStore::lookupByDigest(const Digest& digest, int64_t now_ms) {
  return find(digest, nullptr, now_ms);
}

std::shared_ptr<const CacheEntry> RocksCacheStore::findInMemory(const CacheKey& key,
                                                                int64_t now_ms) {
  auto entry = hot_.find(key.digest(), &key.canonical(), now_ms);
  if (entry) counters_.countLookup(LookupStatus::kHit);
  return entry;
}

LookupResult RocksCacheStore::find(const Digest& digest, const std::string* canonical,
                                   int64_t now_ms) {
  LookupResult result;
  result.entry = hot_.find(digest, canonical, now_ms);
  if (result.entry) {
    result.status = LookupStatus::kHit;
    counters_.countLookup(result.status);
    return result;
  }
  rocksdb::PinnableSlice value;
  uint64_t removals = hot_.removals();  // before the read: a purge meanwhile keeps it off memory
  if (db_->Get(recordReadOptions(), records_, asSlice(digest), &value).ok()) {
    auto entry = std::make_shared<CacheEntry>();
    std::string stored_canonical;
    if (!decodeRecord(value.ToStringView(), &stored_canonical, entry.get())) {
      result.status = LookupStatus::kCorrupt;
    } else {
      result.status = judgeStoredEntry(stored_canonical, *entry, canonical, now_ms);
    }
    if (result.status == LookupStatus::kHit) {
      hot_.putRead(digest, stored_canonical, entry, removals);
      result.entry = std::move(entry);
    }
  }
  if (result.status == LookupStatus::kExpired || result.status == LookupStatus::kCorrupt) {
    removeStale(digest, result.status, now_ms);
  }
  counters_.countLookup(result.status);
  return result;
}

// Deletes an expired or corrupt record a lookup found, unless the writer replaced it meanwhile.
void RocksCacheStore::removeStale(const Digest& digest, LookupStatus why, int64_t now_ms) {
  std::lock_guard lock(index_mutex_);
  if (why == LookupStatus::kExpired) {
    std::string meta_bytes;
    Meta meta;
    if (db_->Get(rocksdb::ReadOptions(), meta_, asSlice(digest), &meta_bytes).ok() &&
        decodeMeta(meta_bytes, &meta) && now_ms < meta.expires_ms) {
      return;
    }
  } else {
    rocksdb::PinnableSlice value;
    std::string canonical;
    CacheEntry entry;
    if (!db_->Get(recordReadOptions(), records_, asSlice(digest), &value).ok() ||
        decodeRecord(value.ToStringView(), &canonical, &entry)) {
      return;
    }
  }
  removeDigestsLocked({digest});
}

bool RocksCacheStore::insert(const CacheKey& key, std::shared_ptr<const CacheEntry> entry) {
  if (roomFor(entry->body.size() + key.canonical().size()) == Room::kNever) {
    counters_.countDroppedWrite();  // could never fit, or could never be written (a full disk)
    return false;
  }
  std::lock_guard lock(insert_mutex_);
  hot_.putPending(key.digest(), key.canonical(), entry);
  const CacheEntry* accepted = entry.get();
  if (!writer_.enqueue(BackgroundWriter::Job{key.digest(), key.canonical(), std::move(entry)})) {
    hot_.eraseIfSame(key.digest(), accepted);
    counters_.countDroppedWrite();
    return false;
  }
  return true;
}

CacheStore::Room RocksCacheStore::roomFor(uint64_t entry_bytes) const {
  uint64_t max_pending = writer_.maxPendingBytes();
  if (entry_bytes > max_bytes_.load() || entry_bytes > max_pending || database_->writesStopped()) {
    return Room::kNever;
  }
  return entry_bytes <= max_pending - writer_.pendingBytes() ? Room::kNow : Room::kLater;
}

// On the writer thread: replaces digest's record and index entries in one batch, then evicts.
void RocksCacheStore::writeJob(const BackgroundWriter::Job& job) {
  std::lock_guard lock(index_mutex_);
  rocksdb::WriteBatch batch;
  Removal replaced;
  addRemovalLocked(job.digest, &batch, &replaced);
  std::string record = encodeRecord(job.canonical, *job.entry);
  Meta meta{job.entry->created_ms, job.entry->expires_ms, record.size(), job.entry->model};
  std::string size_value;
  putLittleEndian(meta.size, &size_value);
  batch.Put(records_, asSlice(job.digest), record);
  batch.Put(meta_, asSlice(job.digest), encodeMeta(meta));
  batch.Put(by_time_, timeKey(meta.created_ms, job.digest), size_value);
  if (url_secret_unstored_) {
    batch.Put(db_->DefaultColumnFamily(),
              rocksdb::Slice(kUrlSecretKey.data(), kUrlSecretKey.size()), url_secret_);
  }
  bool written = database_->write(&batch).ok();
  if (written) {
    url_secret_unstored_ = false;
    entries_ += 1 - replaced.entries;
    bytes_ += meta.size;
    bytes_ -= replaced.bytes;
    hot_.markWritten(job.digest, job.entry.get());
  } else {
    counters_.countDroppedWrite();
    hot_.eraseIfSame(job.digest, job.entry.get());
  }
  if (job.entry->write) job.entry->write->settle(written);
  evictOverLimitLocked();
}

// Adds the deletion of digest's record and index entries to batch and their totals to removal.
void RocksCacheStore::addRemovalLocked(const Digest& digest, rocksdb::WriteBatch* batch,
                                       Removal* removal) {
  std::string meta_bytes;
  Meta meta;
  if (db_->Get(rocksdb::ReadOptions(), meta_, asSlice(digest), &meta_bytes).ok() &&
      decodeMeta(meta_bytes, &meta)) {
    batch->Delete(by_time_, timeKey(meta.created_ms, digest));
    ++removal->entries;
    removal->bytes += meta.size;
  }
  batch->Delete(meta_, asSlice(digest));
  batch->Delete(records_, asSlice(digest));
  removal->digests.push_back(digest);
}

bool RocksCacheStore::commitRemovalLocked(rocksdb::WriteBatch* batch, const Removal& removal) {
  if (!database_->write(batch).ok()) return false;
  entries_ -= std::min(entries_.load(), removal.entries);
  bytes_ -= std::min(bytes_.load(), removal.bytes);
  for (const Digest& digest : removal.digests) hot_.eraseUnpinned(digest);
  return true;
}

// Removes digests in batches of kRemovalsPerBatch. Returns how many were removed.
uint64_t RocksCacheStore::removeDigestsLocked(const std::vector<Digest>& digests) {
  uint64_t removed = 0;
  for (size_t start = 0; start < digests.size(); start += kRemovalsPerBatch) {
    rocksdb::WriteBatch batch;
    Removal removal;
    size_t end = std::min(digests.size(), start + kRemovalsPerBatch);
    for (size_t i = start; i < end; ++i) addRemovalLocked(digests[i], &batch, &removal);
    if (commitRemovalLocked(&batch, removal)) removed += end - start;
  }
  return removed;
}

void RocksCacheStore::evictOverLimitLocked() {
  if (bytes_ <= max_bytes_) return;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), by_time_));
  for (it->SeekToFirst(); it->Valid() && bytes_ > max_bytes_; it->Next()) {
    rocksdb::WriteBatch batch;
    batch.Delete(by_time_, it->key());  // also drops a time key whose record is already gone
    Digest digest;
    Removal removal;
    if (it->key().size() == kTimeKeyBytes &&
        digestFrom(rocksdb::Slice(it->key().data() + 8, sizeof(Digest)), &digest)) {
      addRemovalLocked(digest, &batch, &removal);
    }
    if (commitRemovalLocked(&batch, removal) && removal.entries > 0) {
      counters_.countEvictions(removal.entries);
    }
  }
}

void RocksCacheStore::flush() {
  writer_.flush();
}

uint64_t RocksCacheStore::purge(const std::optional<std::string>& model) {
  writer_.flush();
  std::lock_guard lock(index_mutex_);
  std::vector<Digest> doomed;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Meta meta;
    Digest digest;
    if (!digestFrom(it->key(), &digest) || !decodeMeta(it->value().ToStringView(), &meta)) continue;
    if (!model || meta.model == *model) doomed.push_back(digest);
  }
  return removeDigestsLocked(doomed);
}

// Examines up to options_.sweep_batch index entries from where the previous call stopped.
uint64_t RocksCacheStore::sweepExpired(int64_t now_ms) {
  std::lock_guard lock(index_mutex_);
  std::vector<Digest> doomed;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  size_t examined = 0;
  for (it->Seek(sweep_cursor_); it->Valid() && examined < options_.sweep_batch; it->Next()) {
    ++examined;
    Meta meta;
    Digest digest;
    if (digestFrom(it->key(), &digest) && decodeMeta(it->value().ToStringView(), &meta) &&
        now_ms >= meta.expires_ms) {
      doomed.push_back(digest);
    }
  }
  sweep_cursor_ = it->Valid() ? it->key().ToString() : std::string();
  return removeDigestsLocked(doomed);
}

void RocksCacheStore::setMaxBytes(uint64_t max_bytes) {
  max_bytes_ = max_bytes;
  std::lock_guard lock(index_mutex_);
  evictOverLimitLocked();
}

CacheStats RocksCacheStore::stats() const {
  CacheStats stats = counters_.snapshot(entries_.load(), bytes_.load());
  stats.memory_bytes = hot_.bytes();
  return stats;
}

}  // namespace arkroute::cache
