// Ledger rows: counting finished generations, encoding rows for the table, reading them back.
#include "proxy/ledger.h"

#include <cmath>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "proxy/http/error_line.h"

namespace arkroute {

namespace {

constexpr char kSeparator = '\x1f';

std::string encodeKey(const std::string& key, const std::string& day, const std::string& model) {
  return key + kSeparator + day + kSeparator + model;
}

bool decodeKey(std::string_view text, std::string* key, std::string* day, std::string* model) {
  size_t first = text.find(kSeparator);
  size_t second = first == std::string_view::npos ? first : text.find(kSeparator, first + 1);
  if (second == std::string_view::npos) return false;
  *key = std::string(text.substr(0, first));
  *day = std::string(text.substr(first + 1, second - first - 1));
  *model = std::string(text.substr(second + 1));
  return true;
}

// Runs per changed row per flush (every 10 ms at most), not per request.
std::string encodeTotals(const LedgerTotals& t) {
  nlohmann::json json = {{"requests", t.requests},     {"images", t.images},
                         {"cache_hits", t.cache_hits}, {"unknown_cost", t.unknown_cost},
                         {"cost_usd", t.cost_usd},     {"saved_usd", t.saved_usd}};
  return json.dump();
}

// A member of a stored row, or 0 when it is missing or of another type (a row written with a
// non-finite amount holds null): a row never stops the ledger, nor the gateway, from loading.
template <typename Number>
Number memberOr0(const nlohmann::json& row, const char* name) {
  auto member = row.find(name);
  if (member == row.end()) return 0;
  if constexpr (std::is_floating_point_v<Number>) {
    return member->is_number() ? member->get<Number>() : 0;
  } else {
    return member->is_number_unsigned() ? member->get<Number>() : 0;
  }
}

std::optional<LedgerTotals> decodeTotals(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  LedgerTotals t;
  t.requests = memberOr0<uint64_t>(json, "requests");
  t.images = memberOr0<uint64_t>(json, "images");
  t.cache_hits = memberOr0<uint64_t>(json, "cache_hits");
  t.unknown_cost = memberOr0<uint64_t>(json, "unknown_cost");
  t.cost_usd = memberOr0<double>(json, "cost_usd");
  t.saved_usd = memberOr0<double>(json, "saved_usd");
  return t;
}

}  // namespace

// Formats once per day per thread: every request of a day maps to the same text.
std::string utcDay(int64_t time_ms) {
  constexpr int64_t kMsPerDay = 86'400'000;
  int64_t day_number = time_ms >= 0 ? time_ms / kMsPerDay : (time_ms - kMsPerDay + 1) / kMsPerDay;
  thread_local int64_t cached_number = INT64_MIN;
  thread_local std::string cached_text;
  if (day_number == cached_number) return cached_text;
  time_t seconds = static_cast<time_t>(day_number * (kMsPerDay / 1000));
  tm parts{};
  gmtime_r(&seconds, &parts);
  char text[16];
  strftime(text, sizeof text, "%Y-%m-%d", &parts);
  cached_number = day_number;
  cached_text = text;
  return cached_text;
}

void LedgerTotals::add(const LedgerTotals& other) {
  requests += other.requests;
  images += other.images;
  cache_hits += other.cache_hits;
  unknown_cost += other.unknown_cost;
  cost_usd += other.cost_usd;
  saved_usd += other.saved_usd;
}

Ledger::Ledger(cache::KeyValueTable& table) : table_(table) {
  table_.forEach([this](std::string_view key, std::string_view value) {
    std::string key_id, day, model;
    auto totals = decodeTotals(value);
    if (!decodeKey(key, &key_id, &day, &model) || !totals) return;
    spent_by_key_[key_id] += totals->cost_usd;
    rows_[{key_id, day, model}] = *totals;
  });
}

void Ledger::onRequestFinished(const RequestRecord& record) {
  if (record.model.empty() ||
      (record.path != "/v1/images/generations" && record.path != "/v1/images/edits")) {
    return;
  }
  LedgerTotals delta;
  delta.requests = 1;
  delta.images = static_cast<uint64_t>(record.images);
  // A coalesced waiter given the error its call ended in was not served from the cache.
  bool hit =
      (record.cache_status == "HIT" || record.cache_status == "COALESCED") && record.status == 200;
  delta.cache_hits = hit ? 1 : 0;
  if (record.cost_usd && std::isfinite(*record.cost_usd)) {  // absurd usage can overflow a price
    delta.cost_usd = *record.cost_usd;
  } else {
    delta.unknown_cost = 1;
  }
  double saved = record.saved_usd.value_or(0.0);
  delta.saved_usd = std::isfinite(saved) ? saved : 0.0;
  std::string day = utcDay(record.time_ms);
  Shard& shard = shards_[threadShard()];
  std::lock_guard lock(shard.mutex);
  // Looked up by views: the row's key is built only the first time since the last fold.
  auto row = shard.added.find(std::tie(record.key_id, day, record.model));
  if (row == shard.added.end()) {
    RowKey key{std::string(record.key_id), std::move(day), std::string(record.model)};
    row = shard.added.emplace(std::move(key), LedgerTotals{}).first;
  }
  row->second.add(delta);
}

void Ledger::foldShardsLocked() const {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto& [key, delta] : shard.added) {
      rows_[key].add(delta);
      spent_by_key_[std::get<0>(key)] += delta.cost_usd;
      dirty_.insert(key);
    }
    shard.added.clear();
  }
}

// One thread writes at a time, always the latest values, so puts of one row never land out of
// order. A thread that finds the writer busy leaves its row to it: the writer looks again after
// it lets go, so no row stays unwritten, and no worker ever sleeps on another's disk write. Rows
// that fail to write are kept for the next flush, not retried in a loop.
void Ledger::flush() {
  while (true) {
    std::unique_lock writing(write_mutex_, std::try_to_lock);
    if (!writing.owns_lock()) return;
    std::vector<std::pair<RowKey, std::string>> batch;
    {
      std::lock_guard lock(mutex_);
      foldShardsLocked();
      unwritten_.merge(dirty_);
      dirty_.clear();
      for (const RowKey& key : unwritten_) batch.emplace_back(key, encodeTotals(rows_[key]));
      unwritten_.clear();
    }
    for (auto& [key, value] : batch) {
      const auto& [key_id, day, model] = key;
      std::string error;
      if (table_.put(encodeKey(key_id, day, model), value, &error)) continue;
      if (write_failures_++ == 0) http::writeErrorLine("arkroute: ledger write failed: " + error);
      unwritten_.insert(std::move(key));
    }
    writing.unlock();
    std::lock_guard lock(mutex_);
    foldShardsLocked();
    if (dirty_.empty()) return;
  }
}

std::vector<LedgerRow> Ledger::rows(std::string_view key_id, std::string_view since_day) const {
  std::vector<LedgerRow> out;
  std::lock_guard lock(mutex_);
  foldShardsLocked();
  for (const auto& [key, totals] : rows_) {
    const auto& [row_key, day, model] = key;
    if (key_id != "*" && row_key != key_id) continue;
    if (!since_day.empty() && day < since_day) continue;
    out.push_back(LedgerRow{row_key, day, model, totals});
  }
  std::sort(out.begin(), out.end(), [](const LedgerRow& a, const LedgerRow& b) {
    return std::tie(a.day, a.key_id, a.model) < std::tie(b.day, b.key_id, b.model);
  });
  return out;
}

double Ledger::spent(std::string_view key_id) const {
  std::lock_guard lock(mutex_);
  foldShardsLocked();
  auto it = spent_by_key_.find(key_id);
  return it == spent_by_key_.end() ? 0.0 : it->second;
}

size_t Ledger::unwrittenRows() {
  std::lock_guard writing(write_mutex_);
  return unwritten_.size();
}

uint64_t Ledger::writeFailures() const {
  return write_failures_.load();
}

}  // namespace arkroute
