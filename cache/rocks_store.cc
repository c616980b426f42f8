// RocksCacheStore: open, lookups on the caller's thread, writes on a background thread.
#include "cache/rocks_store.h"

#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstring>

namespace arkroute::cache {

namespace {

constexpr uint64_t kMaxQueuedBytes = 256ull << 20;
const char* const kFamilies[] = {"default",       "cache",  "cache_meta",
                                 "cache_by_time", "ledger", "keys"};

struct Meta {
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  uint64_t size = 0;
  std::string model;
};

std::string encodeMeta(const Meta& meta) {
  std::string out(24, '\0');
  std::memcpy(out.data(), &meta.created_ms, 8);
  std::memcpy(out.data() + 8, &meta.expires_ms, 8);
  std::memcpy(out.data() + 16, &meta.size, 8);
  return out + meta.model;
}

bool decodeMeta(std::string_view bytes, Meta* meta) {
  if (bytes.size() < 24) return false;
  std::memcpy(&meta->created_ms, bytes.data(), 8);
  std::memcpy(&meta->expires_ms, bytes.data() + 8, 8);
  std::memcpy(&meta->size, bytes.data() + 16, 8);
  meta->model.assign(bytes.substr(24));
  return true;
}

std::string timeKey(int64_t created_ms, const Digest& digest) {
  std::string key(8, '\0');
  uint64_t t = static_cast<uint64_t>(created_ms);
  for (int i = 7; i >= 0; --i, t >>= 8) key[static_cast<size_t>(i)] = static_cast<char>(t & 0xff);
  return key.append(reinterpret_cast<const char*>(digest.data()), digest.size());
}

rocksdb::Slice slice(const Digest& digest) {
  return rocksdb::Slice(reinterpret_cast<const char*>(digest.data()), digest.size());
}

std::string describeOpenError(const rocksdb::Status& status, const std::string& path) {
  std::string text = status.ToString();
  if (text.find("lock") != std::string::npos) {
    return "cache database " + path +
           " is locked by another process (is another arkroute using it?): " + text;
  }
  return "cannot open the cache database " + path + ": " + text;
}

}  // namespace

std::unique_ptr<RocksCacheStore> RocksCacheStore::open(const std::string& path, uint64_t max_bytes,
                                                       std::string* error) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kFamilies) {
    rocksdb::ColumnFamilyOptions options;
    if (std::string_view(name) == "cache") {
      options.enable_blob_files = true;
      options.min_blob_size = 8192;
      options.enable_blob_garbage_collection = true;
    }
    descriptors.emplace_back(name, options);
  }
  std::unique_ptr<RocksCacheStore> store(new RocksCacheStore());
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, path, descriptors, &store->families_, &db);
  if (!status.ok()) {
    *error = describeOpenError(status, path);
    return nullptr;
  }
  store->db_.reset(db);
  store->records_ = store->families_[1];
  store->meta_ = store->families_[2];
  store->by_time_ = store->families_[3];
  store->max_bytes_ = max_bytes;
  store->hot_limit_ = std::min<uint64_t>(max_bytes / 4, 256ull << 20);
  store->loadTotals();
  store->writer_ = std::thread([s = store.get()] { s->writerLoop(); });
  return store;
}

RocksCacheStore::~RocksCacheStore() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  if (writer_.joinable()) writer_.join();
  for (auto* family : families_) db_->DestroyColumnFamilyHandle(family);
  db_.reset();
}

rocksdb::ColumnFamilyHandle* RocksCacheStore::family(std::string_view name) const {
  for (size_t i = 0; i < families_.size(); ++i) {
    if (name == kFamilies[i]) return families_[i];
  }
  return nullptr;
}

void RocksCacheStore::loadTotals() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  uint64_t entries = 0, bytes = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Meta meta;
    if (decodeMeta(it->value().ToStringView(), &meta)) {
      ++entries;
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

LookupResult RocksCacheStore::find(const Digest& digest, const std::string* canonical,
                                   int64_t now_ms) {
  LookupResult result;
  if (auto hot = hotLookup(digest, canonical, now_ms)) {
    result.status = LookupStatus::kHit;
    result.entry = std::move(hot);
    counters_.count(result.status);
    return result;
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), records_, slice(digest), &value);
  if (!status.ok()) {
    counters_.count(result.status);
    return result;
  }
  auto entry = std::make_shared<CacheEntry>();
  std::string stored_canonical;
  if (!decodeRecord(value.ToStringView(), &stored_canonical, entry.get())) {
    result.status = LookupStatus::kCorrupt;
  } else if (canonical && stored_canonical != *canonical) {
    result.status = LookupStatus::kKeyMismatch;
  } else if (entry->expires_ms <= now_ms) {
    result.status = LookupStatus::kExpired;
  } else {
    result.status = LookupStatus::kHit;
    result.entry = std::move(entry);
    hotPut(digest, stored_canonical, result.entry, true);
  }
  if (result.status == LookupStatus::kCorrupt || result.status == LookupStatus::kExpired) {
    std::lock_guard lock(write_mutex_);
    rocksdb::WriteBatch batch;
    removeRecord(digest, &batch);
    db_->Write(rocksdb::WriteOptions(), &batch);
  }
  counters_.count(result.status);
  return result;
}

std::shared_ptr<const CacheEntry> RocksCacheStore::hotLookup(const Digest& digest,
                                                             const std::string* canonical,
                                                             int64_t now_ms) {
  std::lock_guard lock(queue_mutex_);
  auto it = hot_.find(digest);
  if (it == hot_.end()) return nullptr;
  if ((canonical && it->second.canonical != *canonical) || it->second.entry->expires_ms <= now_ms) {
    return nullptr;  // the record decides (mismatch or expiry is handled there)
  }
  hot_order_.splice(hot_order_.begin(), hot_order_, it->second.age);
  return it->second.entry;
}

void RocksCacheStore::hotPut(const Digest& digest, const std::string& canonical,
                             std::shared_ptr<const CacheEntry> entry, bool written) {
  std::lock_guard lock(queue_mutex_);
  auto it = hot_.find(digest);
  if (it != hot_.end()) {
    hot_bytes_ -= it->second.entry->body.size();
    hot_order_.erase(it->second.age);
    hot_.erase(it);
  }
  hot_bytes_ += entry->body.size();
  hot_order_.push_front(digest);
  hot_[digest] = HotEntry{canonical, std::move(entry), written, hot_order_.begin()};
  for (auto age = hot_order_.end(); hot_bytes_ > hot_limit_ && age != hot_order_.begin();) {
    --age;
    auto victim = hot_.find(*age);
    if (!victim->second.written) continue;
    hot_bytes_ -= victim->second.entry->body.size();
    hot_.erase(victim);
    age = hot_order_.erase(age);
  }
}

void RocksCacheStore::hotErase(const Digest& digest) {
  std::lock_guard lock(queue_mutex_);
  auto it = hot_.find(digest);
  if (it == hot_.end()) return;
  hot_bytes_ -= it->second.entry->body.size();
  hot_order_.erase(it->second.age);
  hot_.erase(it);
}

// Adds the deletion of digest's record, meta and time key to batch; adjusts the totals. Also drops
// the hot copy unless keep_hot (the writer replacing a record with the entry that is hot).
void RocksCacheStore::removeRecord(const Digest& digest, rocksdb::WriteBatch* batch,
                                   bool keep_hot) {
  if (!keep_hot) hotErase(digest);
  std::string meta_bytes;
  Meta meta;
  if (db_->Get(rocksdb::ReadOptions(), meta_, slice(digest), &meta_bytes).ok() &&
      decodeMeta(meta_bytes, &meta)) {
    batch->Delete(by_time_, timeKey(meta.created_ms, digest));
    --entries_;
    bytes_ -= std::min<uint64_t>(bytes_, meta.size);
  }
  batch->Delete(meta_, slice(digest));
  batch->Delete(records_, slice(digest));
}

void RocksCacheStore::insert(const CacheKey& key, CacheEntry entry) {
  uint64_t size = entry.body.size() + key.canonical().size();
  auto shared = std::make_shared<const CacheEntry>(entry);
  {
    std::lock_guard lock(queue_mutex_);
    if (queued_bytes_ + size > kMaxQueuedBytes) {
      ++counters_.dropped;
      return;
    }
  }
  hotPut(key.digest(), key.canonical(), std::move(shared), false);  // visible before it is queued
  {
    std::lock_guard lock(queue_mutex_);
    queued_bytes_ += size;
    queue_.push_back(PendingWrite{key.digest(), key.canonical(), std::move(entry)});
  }
  queue_changed_.notify_all();
}

void RocksCacheStore::writerLoop() {
  std::unique_lock lock(queue_mutex_);
  while (true) {
    queue_changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything accepted was written
    PendingWrite pending = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    write(pending);
    lock.lock();
    writing_ = false;
    auto hot = hot_.find(pending.digest);
    if (hot != hot_.end() && hot->second.entry->created_ms == pending.entry.created_ms) {
      hot->second.written = true;
    }
    queued_bytes_ -=
        std::min<uint64_t>(queued_bytes_, pending.entry.body.size() + pending.canonical.size());
    queue_changed_.notify_all();
  }
}

void RocksCacheStore::write(const PendingWrite& pending) {
  std::lock_guard lock(write_mutex_);
  rocksdb::WriteBatch batch;
  removeRecord(pending.digest, &batch, /*keep_hot=*/true);
  std::string record = encodeRecord(pending.canonical, pending.entry);
  Meta meta{pending.entry.created_ms, pending.entry.expires_ms, record.size(), pending.entry.model};
  batch.Put(records_, slice(pending.digest), record);
  batch.Put(meta_, slice(pending.digest), encodeMeta(meta));
  batch.Put(by_time_, timeKey(meta.created_ms, pending.digest), rocksdb::Slice());
  if (db_->Write(rocksdb::WriteOptions(), &batch).ok()) {
    ++entries_;
    bytes_ += meta.size;
  }
  evictOverLimit();
}

void RocksCacheStore::evictOverLimit() {
  if (bytes_ <= max_bytes_) return;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), by_time_));
  for (it->SeekToFirst(); it->Valid() && bytes_ > max_bytes_; it->Next()) {
    rocksdb::Slice key = it->key();
    if (key.size() != 24) continue;
    Digest digest;
    std::memcpy(digest.data(), key.data() + 8, 16);
    rocksdb::WriteBatch batch;
    removeRecord(digest, &batch);
    db_->Write(rocksdb::WriteOptions(), &batch);
    ++counters_.evictions;
  }
}

void RocksCacheStore::flush() {
  std::unique_lock lock(queue_mutex_);
  queue_changed_.wait(lock, [this] { return queue_.empty() && !writing_; });
}

uint64_t RocksCacheStore::purge(const std::optional<std::string>& model) {
  flush();
  std::lock_guard lock(write_mutex_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  std::vector<Digest> doomed;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Meta meta;
    if (it->key().size() != 16 || !decodeMeta(it->value().ToStringView(), &meta)) continue;
    if (model && meta.model != *model) continue;
    Digest digest;
    std::memcpy(digest.data(), it->key().data(), 16);
    doomed.push_back(digest);
  }
  for (const Digest& digest : doomed) {
    rocksdb::WriteBatch batch;
    removeRecord(digest, &batch);
    db_->Write(rocksdb::WriteOptions(), &batch);
  }
  return doomed.size();
}

uint64_t RocksCacheStore::sweepExpired(int64_t now_ms) {
  std::lock_guard lock(write_mutex_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta_));
  std::vector<Digest> doomed;
  for (it->SeekToFirst(); it->Valid() && doomed.size() < 1000; it->Next()) {
    Meta meta;
    if (it->key().size() != 16 || !decodeMeta(it->value().ToStringView(), &meta)) continue;
    if (meta.expires_ms > now_ms) continue;
    Digest digest;
    std::memcpy(digest.data(), it->key().data(), 16);
    doomed.push_back(digest);
  }
  for (const Digest& digest : doomed) {
    rocksdb::WriteBatch batch;
    removeRecord(digest, &batch);
    db_->Write(rocksdb::WriteOptions(), &batch);
  }
  return doomed.size();
}

CacheStats RocksCacheStore::stats() const {
  return CacheStats{entries_.load(),
                    bytes_.load(),
                    counters_.hits.load(),
                    counters_.misses.load(),
                    counters_.expired.load(),
                    counters_.corrupt.load(),
                    counters_.evictions.load(),
                    counters_.dropped.load()};
}

}  // namespace arkroute::cache
