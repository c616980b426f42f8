// The ledger: per key × model × UTC day — requests, images, cache hits, cost and savings — kept in
// memory and written to the "ledger" table at most 10 ms after the request finished (each worker
// flushes on a short timer: small unsynced RocksDB puts, one per changed row however many requests
// changed it), so totals survive restarts, and a SIGKILL loses at most the last 10 ms.
// It also answers what a key has spent, for budgets. Thread-safe: a finished request is counted in
// its thread's shard (thread_shard.h), so workers never wait on each other per request; readers and
// flush() fold the shards into the rows first.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cache/kv_table.h"
#include "proxy/request_record.h"
#include "proxy/thread_shard.h"

namespace arkroute {

struct LedgerTotals {
  uint64_t requests = 0;
  uint64_t images = 0;
  uint64_t cache_hits = 0;    // HIT and COALESCED
  uint64_t unknown_cost = 0;  // served by a model with no price
  double cost_usd = 0;
  double saved_usd = 0;

  void add(const LedgerTotals& other);
};

struct LedgerRow {
  std::string key_id;  // "" = open mode (no key)
  std::string day;     // "YYYY-MM-DD", UTC
  std::string model;
  LedgerTotals totals;
};

class Ledger : public RequestObserver {
 public:
  // Loads every stored row. The table must outlive the ledger.
  explicit Ledger(cache::KeyValueTable& table);

  // Counts a finished generation in memory (records without a model, e.g. a 404 for an unknown
  // path or a request rejected before routing, are not counted). flush() writes it.
  void onRequestFinished(const RequestRecord& record) override;
  // Writes every row changed since the last flush. Workers call it 10 ms after the first request
  // that finished since their last flush (Worker::scheduleLedgerFlush), and at shutdown.
  // Thread-safe; never blocks on another thread's write (that thread writes our rows too).
  void flush();

  // Rows for key_id ("*" = every key), on or after since_day ("" = all), sorted by day, key, model.
  std::vector<LedgerRow> rows(std::string_view key_id, std::string_view since_day) const;
  // Everything key_id has spent, all days.
  double spent(std::string_view key_id) const;
  // Storage failures so far (each logged once to stderr).
  uint64_t writeFailures() const;
  // Rows whose latest totals are not in the table: their last write failed (a full disk).
  size_t unwrittenRows();

 private:
  using RowKey = std::tuple<std::string, std::string, std::string>;  // key, day, model

  // What one thread counted since the last fold, on cache lines of its own.
  struct alignas(kCacheLine) Shard {
    std::mutex mutex;  // taken by its thread per request, and by a fold
    std::map<RowKey, LedgerTotals, std::less<>> added;  // std::less<>: found by views
  };

  // Moves every shard's counts into rows_, spent_by_key_ and dirty_. Needs mutex_. Const because
  // it changes where counts are kept, never what the ledger answers.
  void foldShardsLocked() const;

  cache::KeyValueTable& table_;
  mutable std::mutex mutex_;  // guards rows_, spent_by_key_, dirty_; taken before a shard's
  mutable std::array<Shard, kThreadShards> shards_;
  mutable std::map<RowKey, LedgerTotals> rows_;
  mutable std::map<std::string, double, std::less<>> spent_by_key_;
  mutable std::set<RowKey> dirty_;  // changed rows not yet handed to the table
  std::mutex write_mutex_;          // held by the one thread writing dirty rows
  // Rows whose last write failed (a full disk): written again, with their latest totals, by the
  // next flush, so a row that stops changing still reaches the table once writes work again.
  std::set<RowKey> unwritten_;  // guarded by write_mutex_
  std::atomic<uint64_t> write_failures_{0};
};

// "YYYY-MM-DD" (UTC) of a time in ms since the epoch.
std::string utcDay(int64_t time_ms);

}  // namespace arkroute
