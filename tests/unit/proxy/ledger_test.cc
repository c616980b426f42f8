// Unit: ledger counting, per-key spend, persistence through the table, and the usage report.
#include "proxy/ledger.h"

#include <gtest/gtest.h>

#include <limits>
#include <thread>
#include <vector>

#include "proxy/key_spec_json.h"
#include "proxy/usage_report.h"

namespace arkroute {
namespace {

RequestRecord generation(std::string_view key, std::string_view model, const char* cache,
                         std::optional<double> cost, std::optional<double> saved) {
  RequestRecord record;
  record.time_ms = 1'764'000'000'000;  // 2025-11-24 UTC
  record.path = "/v1/images/generations";
  record.key_id = key;
  record.model = model;
  record.status = 200;
  record.cache_status = cache;
  record.cost_usd = cost;
  record.saved_usd = saved;
  record.images = 1;
  return record;
}

TEST(Ledger, CountsPerKeyModelAndDayAndReloadsFromTheTable) {
  cache::MemoryKeyValueTable table;
  {
    Ledger ledger(table);
    ledger.onRequestFinished(generation("k1", "m", "MISS", 0.04, std::nullopt));
    ledger.onRequestFinished(generation("k1", "m", "HIT", 0.0, 0.04));
    ledger.onRequestFinished(generation("k2", "m", "MISS", std::nullopt, std::nullopt));
    RequestRecord not_routed = generation("k1", "", "", 0.0, std::nullopt);
    ledger.onRequestFinished(not_routed);
    EXPECT_NEAR(ledger.spent("k1"), 0.04, 1e-12);
    ledger.flush();
  }
  Ledger reloaded(table);
  EXPECT_NEAR(reloaded.spent("k1"), 0.04, 1e-12);
  auto rows = reloaded.rows("k1", "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].day, "2025-11-24");
  EXPECT_EQ(rows[0].totals.requests, 2u);
  EXPECT_EQ(rows[0].totals.cache_hits, 1u);
  EXPECT_NEAR(rows[0].totals.saved_usd, 0.04, 1e-12);
  auto all = reloaded.rows("*", "");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].totals.unknown_cost, 1u) << "an unpriced model is counted as unknown, not $0";
  EXPECT_TRUE(reloaded.rows("*", "2025-11-25").empty());
}

// A cost that is not finite (absurd usage overflowing a price) is counted as unknown, and a stored
// row holding null or a wrong type loads as 0: no row keeps the ledger, or the gateway, from
// starting.
TEST(Ledger, ACostThatIsNotFiniteIsUnknownAndOddRowsStillLoad) {
  cache::MemoryKeyValueTable table;
  {
    Ledger ledger(table);
    ledger.onRequestFinished(generation("k1", "m", "MISS", 0.04, std::nullopt));
    ledger.onRequestFinished(
        generation("k1", "m", "MISS", std::numeric_limits<double>::infinity(), std::nullopt));
    EXPECT_NEAR(ledger.spent("k1"), 0.04, 1e-12);
    ledger.flush();
  }
  std::string error;
  ASSERT_TRUE(table.put(std::string("k2\x1f") + "2025-11-24\x1fm",
                        R"({"requests":2,"images":"two","cost_usd":null,"saved_usd":"x"})", &error))
      << error;
  Ledger reloaded(table);
  auto rows = reloaded.rows("k1", "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].totals.requests, 2u);
  EXPECT_EQ(rows[0].totals.unknown_cost, 1u);
  EXPECT_NEAR(rows[0].totals.cost_usd, 0.04, 1e-12);
  auto odd = reloaded.rows("k2", "");
  ASSERT_EQ(odd.size(), 1u);
  EXPECT_EQ(odd[0].totals.requests, 2u);
  EXPECT_EQ(odd[0].totals.images, 0u);
  EXPECT_EQ(odd[0].totals.cost_usd, 0.0);
  EXPECT_EQ(reloaded.spent("k2"), 0.0);
}

TEST(Ledger, CountsEditsLikeGenerationsAndNothingElse) {
  cache::MemoryKeyValueTable table;
  Ledger ledger(table);
  RequestRecord edit = generation("k1", "m", "BYPASS", 0.05, std::nullopt);
  edit.path = "/v1/images/edits";
  ledger.onRequestFinished(edit);
  RequestRecord other = generation("k1", "m", "", 0.5, std::nullopt);
  other.path = "/v1/models";
  ledger.onRequestFinished(other);
  EXPECT_NEAR(ledger.spent("k1"), 0.05, 1e-12);
  auto rows = ledger.rows("k1", "");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].totals.requests, 1u);
}

// A table whose puts fail while `full` is set, as the database's do on a full disk.
class FillableTable : public cache::KeyValueTable {
 public:
  bool put(std::string_view key, std::string_view value, std::string* error) override {
    if (!full) return rows_.put(key, value, error);
    *error = "no space left on device";
    return false;
  }
  bool remove(std::string_view key, std::string* error) override {
    return rows_.remove(key, error);
  }
  std::optional<std::string> get(std::string_view key) const override { return rows_.get(key); }
  void forEach(
      const std::function<void(std::string_view, std::string_view)>& visit) const override {
    rows_.forEach(visit);
  }
  bool full = false;

 private:
  cache::MemoryKeyValueTable rows_;
};

TEST(Ledger, RowsThatFailedToWriteAreWrittenByTheNextFlush) {
  FillableTable table;
  {
    Ledger ledger(table);
    table.full = true;
    ledger.onRequestFinished(generation("k1", "m", "MISS", 0.04, std::nullopt));
    ledger.flush();
    EXPECT_EQ(ledger.writeFailures(), 1u);
    EXPECT_EQ(ledger.unwrittenRows(), 1u);
    EXPECT_FALSE(Ledger(table).spent("k1") > 0) << "nothing could be stored";
    table.full = false;
    ledger.onRequestFinished(generation("k2", "m", "MISS", 0.02, std::nullopt));
    ledger.flush();  // writes k2's row, and k1's, which changed no more
    EXPECT_EQ(ledger.unwrittenRows(), 0u);
  }
  Ledger reloaded(table);
  EXPECT_NEAR(reloaded.spent("k1"), 0.04, 1e-12);
  EXPECT_NEAR(reloaded.spent("k2"), 0.02, 1e-12);
}

// Each worker counts in a shard of its own; readers and flush() must see every shard's counts.
TEST(Ledger, CountsFromEveryThreadAreReadAtOnceAndWrittenByOneFlush) {
  cache::MemoryKeyValueTable table;
  {
    Ledger ledger(table);
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
      workers.emplace_back([&ledger, t] {
        for (int i = 0; i < 500; ++i) {
          ledger.onRequestFinished(
              generation("k1", t % 2 ? "m1" : "m2", "MISS", 0.25, std::nullopt));
        }
      });
    }
    for (auto& worker : workers) worker.join();
    EXPECT_DOUBLE_EQ(ledger.spent("k1"), 500.0) << "4 threads x 500 requests x $0.25, no flush yet";
    ledger.onRequestFinished(generation("k1", "m1", "HIT", 0.0, 0.25));
    auto rows = ledger.rows("k1", "");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].totals.requests + rows[1].totals.requests, 2001u);
    ledger.flush();
  }
  Ledger reloaded(table);
  EXPECT_DOUBLE_EQ(reloaded.spent("k1"), 500.0);
  auto rows = reloaded.rows("k1", "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].model, "m1");
  EXPECT_EQ(rows[0].totals.requests, 1001u);
  EXPECT_EQ(rows[0].totals.cache_hits, 1u);
  EXPECT_EQ(rows[1].totals.requests, 1000u);
}

TEST(UsageReport, ComparesTheSameImagesOnEveryPricedModel) {
  Config config;
  ModelConfig cheap, dear, unpriced;
  cheap.name = "cheap";
  cheap.price = ModelPrice{{{"*", {{"*", 0.01}}}}, std::nullopt};
  dear.name = "dear";
  dear.price = ModelPrice{{{"*", {{"*", 0.04}}}}, std::nullopt};
  unpriced.name = "unpriced";
  config.models = {dear, cheap, unpriced};
  std::vector<LedgerRow> rows = {{"k1", "2025-11-24", "dear", {3, 3, 1, 0, 0.08, 0.04}}};
  auto usage = usageJson(rows, config, "", {{"k1", "alice"}}, std::nullopt);
  ASSERT_EQ(usage["comparison"].size(), 2u);
  EXPECT_EQ(usage["comparison"][0]["model"], "cheap");
  EXPECT_NEAR(usage["comparison"][0]["cost_usd"].get<double>(), 0.03, 1e-12);
  EXPECT_NEAR(usage["comparison"][1]["cost_usd"].get<double>(), 0.12, 1e-12);
  std::string table = usageTable(usage);
  EXPECT_NE(table.find("alice"), std::string::npos);
  EXPECT_NE(table.find("$0.0800"), std::string::npos);
  EXPECT_NE(table.find("cheap"), std::string::npos);
  EXPECT_FALSE(parseDay("2025-13-01"));
  EXPECT_EQ(parseDay("2025-11-24"), "2025-11-24");
}

// Sums of prices are binary fractions (0.1 + 0.2): the report gives them as the amounts they are.
TEST(UsageReport, AmountsReadAsDollarsWithoutBinaryNoise) {
  Config config;
  std::vector<LedgerRow> rows = {{"k1", "2025-11-24", "a", {1, 1, 0, 0, 0.1, 0.0}},
                                 {"k1", "2025-11-24", "b", {1, 1, 0, 0, 0.2, 0.0}}};
  VirtualKey key;
  key.id = "k1";
  key.budget_usd = 0.32;
  auto usage = usageJson(rows, config, "", {}, KeyBalance{key, 0.1 + 0.2});
  EXPECT_EQ(usage["totals"]["cost_usd"].dump(), "0.3");
  EXPECT_EQ(usage["key"]["spent_usd"].dump(), "0.3");
  EXPECT_EQ(usage["key"]["remaining_usd"].dump(), "0.02");
}

// A total that leaves out requests of unknown price says so, like the rows it adds up.
TEST(UsageReport, ATotalWithRequestsOfUnknownPriceIsMarked) {
  Config config;
  std::vector<LedgerRow> known = {{"k1", "2025-11-24", "dear", {3, 3, 1, 0, 0.08, 0.04}}};
  auto last_line = [](const std::string& table) {
    size_t total = table.find("\ntotal");
    return table.substr(total + 1, table.find('\n', total + 1) - total - 1);
  };
  std::string table = usageTable(usageJson(known, config, "", {}, std::nullopt));
  EXPECT_EQ(last_line(table).find("(price?)"), std::string::npos) << table;
  known.push_back({"k1", "2025-11-24", "unpriced", {2, 2, 0, 2, 0.0, 0.0}});
  table = usageTable(usageJson(known, config, "", {}, std::nullopt));
  EXPECT_NE(last_line(table).find("(price?)"), std::string::npos) << table;
}

// ?since= and --expires take a day that exists, written YYYY-MM-DD and nothing else (strptime
// alone let trailing junk, a leading space and 31 February through).
TEST(UsageReport, ADayIsARealDayInOneSpelling) {
  EXPECT_EQ(parseDay("2024-02-29"), "2024-02-29");
  for (const char* bad : {"2024-01-1x", "2024-02-31", "2025-02-29", " 2024-1-01", "2024-1-011",
                          "2024/01/01", "+024-01-01", "2024-00-10", "2024-01-00"}) {
    EXPECT_FALSE(parseDay(bad)) << bad;
  }
  EXPECT_EQ(dayStartMs("2024-02-31"), -1);
  EXPECT_EQ(dayStartMs("2024-03-01"), 1709251200000);
}

}  // namespace
}  // namespace arkroute

namespace arkroute {
namespace {

TEST(UtcDay, FormatsEachDayAndSwitchesAtMidnightUtc) {
  EXPECT_EQ(utcDay(0), "1970-01-01");
  EXPECT_EQ(utcDay(86'400'000 - 1), "1970-01-01");
  EXPECT_EQ(utcDay(86'400'000), "1970-01-02");
  EXPECT_EQ(utcDay(1'795'996'800'000), "2026-11-30");  // cached per day: alternate to prove it
  EXPECT_EQ(utcDay(1'795'996'800'000 - 1), "2026-11-29");
  EXPECT_EQ(utcDay(1'795'996'800'000 + 86'399'999), "2026-11-30");
  EXPECT_EQ(utcDay(-1), "1969-12-31");
}

}  // namespace
}  // namespace arkroute
