// The in-memory and RocksDB column-family key → value tables.
#include "cache/kv_table.h"

#include <rocksdb/db.h>

#include "cache/rocks_database.h"

namespace arkroute::cache {

bool MemoryKeyValueTable::put(std::string_view key, std::string_view value, std::string*) {
  std::lock_guard lock(mutex_);
  entries_.insert_or_assign(std::string(key), std::string(value));
  return true;
}

bool MemoryKeyValueTable::remove(std::string_view key, std::string*) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
  return true;
}

std::optional<std::string> MemoryKeyValueTable::get(std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

void MemoryKeyValueTable::forEach(
    const std::function<void(std::string_view, std::string_view)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, value] : entries_) visit(key, value);
}

namespace {

class FamilyTable : public KeyValueTable {
 public:
  FamilyTable(std::shared_ptr<RocksDatabase> database, rocksdb::ColumnFamilyHandle* family)
      : database_(std::move(database)), family_(family) {}

  bool put(std::string_view key, std::string_view value, std::string* error) override {
    rocksdb::WriteBatch batch;
    batch.Put(family_, toSlice(key), toSlice(value));
    return check(database_->write(&batch), error);
  }

  bool remove(std::string_view key, std::string* error) override {
    rocksdb::WriteBatch batch;
    batch.Delete(family_, toSlice(key));
    return check(database_->write(&batch), error);
  }

  std::optional<std::string> get(std::string_view key) const override {
    std::string value;
    auto status = database_->db()->Get(rocksdb::ReadOptions(), family_, toSlice(key), &value);
    if (!status.ok()) return std::nullopt;
    return value;
  }

  void forEach(
      const std::function<void(std::string_view, std::string_view)>& visit) const override {
    std::unique_ptr<rocksdb::Iterator> it(
        database_->db()->NewIterator(rocksdb::ReadOptions(), family_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      visit(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()));
    }
  }

 private:
  static rocksdb::Slice toSlice(std::string_view text) {
    return rocksdb::Slice(text.data(), text.size());
  }
  static bool check(const rocksdb::Status& status, std::string* error) {
    if (status.ok()) return true;
    if (error) *error = status.ToString();
    return false;
  }

  std::shared_ptr<RocksDatabase> database_;
  rocksdb::ColumnFamilyHandle* family_;
};

}  // namespace

std::unique_ptr<KeyValueTable> openFamilyTable(std::shared_ptr<RocksDatabase> database,
                                               std::string_view family) {
  rocksdb::ColumnFamilyHandle* handle = database->family(family);
  if (!handle) return nullptr;
  return std::make_unique<FamilyTable>(std::move(database), handle);
}

}  // namespace arkroute::cache
