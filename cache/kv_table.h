// A small durable key → value table: the storage behind the ledger and the virtual keys. Blind to
// what the values mean (the callers encode them). Two backends: one RocksDB column family of the
// shared database (writes go through the WAL, unsynced: an acknowledged put survives a process
// kill, not a power cut) and an in-memory map for a gateway without a database and for tests.
// Every method is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace arkroute::cache {

class RocksDatabase;

class KeyValueTable {
 public:
  virtual ~KeyValueTable() = default;
  // false and *error on a storage failure.
  virtual bool put(std::string_view key, std::string_view value, std::string* error) = 0;
  virtual bool remove(std::string_view key, std::string* error) = 0;
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  // Calls visit for every entry in key order.
  virtual void forEach(
      const std::function<void(std::string_view key, std::string_view value)>& visit) const = 0;
};

class MemoryKeyValueTable : public KeyValueTable {
 public:
  bool put(std::string_view key, std::string_view value, std::string* error) override;
  bool remove(std::string_view key, std::string* error) override;
  std::optional<std::string> get(std::string_view key) const override;
  void forEach(const std::function<void(std::string_view, std::string_view)>& visit) const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> entries_;
};

// A column family of `database` ("ledger" or "keys"); the database must outlive nothing: it is
// shared.
std::unique_ptr<KeyValueTable> openFamilyTable(std::shared_ptr<RocksDatabase> database,
                                               std::string_view family);

}  // namespace arkroute::cache
