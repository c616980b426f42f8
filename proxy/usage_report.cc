// Usage JSON and its text rendering, with the cross-model cost comparison.
#include "proxy/usage_report.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "proxy/pricing.h"

namespace arkroute {

namespace {

nlohmann::json totalsJson(const LedgerTotals& t) {
  return {{"requests", t.requests},           {"images", t.images},
          {"cache_hits", t.cache_hits},       {"unknown_cost_requests", t.unknown_cost},
          {"cost_usd", roundUsd(t.cost_usd)}, {"saved_usd", roundUsd(t.saved_usd)}};
}

// What `images` images would cost on each priced model, cheapest first.
nlohmann::json comparison(const Config& config, uint64_t images) {
  std::vector<std::pair<double, std::string>> costs;
  for (const ModelConfig& model : config.models) {
    if (!model.price) continue;
    auto unit = estimateCost(*model.price, "", "", 1);
    if (unit) costs.emplace_back(*unit * static_cast<double>(images), model.name);
  }
  std::sort(costs.begin(), costs.end());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [cost, name] : costs)
    out.push_back({{"model", name}, {"cost_usd", roundUsd(cost)}});
  return out;
}

std::string money(double usd) {
  char text[32];
  std::snprintf(text, sizeof text, "$%.4f", usd);
  return text;
}

}  // namespace

std::optional<std::string> parseDay(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 4 || i == 7;
    if (dash ? text[i] != '-' : !std::isdigit(static_cast<unsigned char>(text[i]))) {
      return std::nullopt;
    }
  }
  tm parts{};
  std::string copy(text);
  const char* end = strptime(copy.c_str(), "%Y-%m-%d", &parts);
  if (!end || *end != '\0') return std::nullopt;
  // A day that does not exist (2024-02-31) comes back from timegm as another one.
  time_t seconds = timegm(&parts);
  tm back{};
  char written[16];
  if (!gmtime_r(&seconds, &back) ||
      std::strftime(written, sizeof written, "%Y-%m-%d", &back) != 10 || copy != written) {
    return std::nullopt;
  }
  return copy;
}

nlohmann::json usageJson(const std::vector<LedgerRow>& rows, const Config& config,
                         const std::string& since,
                         const std::map<std::string, std::string>& key_names,
                         const std::optional<KeyBalance>& balance) {
  nlohmann::json list = nlohmann::json::array();
  LedgerTotals totals;
  for (const LedgerRow& row : rows) {
    auto name = key_names.find(row.key_id);
    nlohmann::json item = totalsJson(row.totals);
    item["day"] = row.day;
    item["key_id"] = row.key_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(row.key_id);
    item["key_name"] = name == key_names.end() ? "" : name->second;
    item["model"] = row.model;
    list.push_back(std::move(item));
    totals.add(row.totals);
  }
  nlohmann::json out = {{"object", "usage"},
                        {"since", since.empty() ? nlohmann::json(nullptr) : nlohmann::json(since)},
                        {"rows", std::move(list)},
                        {"totals", totalsJson(totals)},
                        {"comparison", comparison(config, totals.images)}};
  if (balance) {
    const VirtualKey& key = balance->key;
    nlohmann::json k = key.toPublicJson();
    k["spent_usd"] = roundUsd(balance->spent_usd);
    k["remaining_usd"] =
        key.budget_usd
            ? nlohmann::json(roundUsd(std::max(0.0, *key.budget_usd - balance->spent_usd)))
            : nlohmann::json(nullptr);
    out["key"] = std::move(k);
  }
  return out;
}

std::string usageTable(const nlohmann::json& usage) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-10s  %-20s  %-18s  %8s  %7s  %6s  %11s  %11s\n", "day", "key",
                "model", "requests", "images", "hits", "cost", "saved");
  out << line;
  for (const auto& row : usage["rows"]) {
    std::string key = row["key_name"].get<std::string>();
    if (key.empty()) key = row["key_id"].is_null() ? "(open)" : row["key_id"].get<std::string>();
    std::string model = row["model"].get<std::string>();
    if (row["unknown_cost_requests"].get<uint64_t>() > 0) model += " (price?)";
    std::snprintf(line, sizeof line, "%-10s  %-20.20s  %-18.18s  %8llu  %7llu  %6llu  %11s  %11s\n",
                  row["day"].get<std::string>().c_str(), key.c_str(), model.c_str(),
                  static_cast<unsigned long long>(row["requests"].get<uint64_t>()),
                  static_cast<unsigned long long>(row["images"].get<uint64_t>()),
                  static_cast<unsigned long long>(row["cache_hits"].get<uint64_t>()),
                  money(row["cost_usd"].get<double>()).c_str(),
                  money(row["saved_usd"].get<double>()).c_str());
    out << line;
  }
  const auto& t = usage["totals"];
  // The total leaves out what the requests of unknown price cost: it says so, as their rows do.
  bool unknown = t.value("unknown_cost_requests", uint64_t{0}) > 0;
  std::snprintf(
      line, sizeof line, "%-10s  %-20s  %-18s  %8llu  %7llu  %6llu  %11s  %11s\n", "total", "",
      unknown ? "(price?)" : "", static_cast<unsigned long long>(t["requests"].get<uint64_t>()),
      static_cast<unsigned long long>(t["images"].get<uint64_t>()),
      static_cast<unsigned long long>(t["cache_hits"].get<uint64_t>()),
      money(t["cost_usd"].get<double>()).c_str(), money(t["saved_usd"].get<double>()).c_str());
  out << line;
  out << "\nThe same " << t["images"].get<uint64_t>()
      << " images on each configured model (default per-image price, no cache):\n";
  for (const auto& item : usage["comparison"]) {
    std::snprintf(line, sizeof line, "  %-24s %11s\n", item["model"].get<std::string>().c_str(),
                  money(item["cost_usd"].get<double>()).c_str());
    out << line;
  }
  return out.str();
}

}  // namespace arkroute
