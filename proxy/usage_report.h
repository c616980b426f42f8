// Usage reports from ledger rows: the JSON of GET /v1/usage and GET /admin/usage, and the text
// table of `arkroute usage`, which ends with what the same images would have cost on each
// configured model (at that model's default per-image price).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/ledger.h"
#include "proxy/virtual_keys.h"

namespace arkroute {

struct KeyBalance {
  VirtualKey key;
  double spent_usd = 0;
};

// {"object":"usage","since","rows":[...],"totals":{...},"comparison":[...],"key"?:{...}}.
// key_names maps key ids to names for the rows ("" = open mode).
nlohmann::json usageJson(const std::vector<LedgerRow>& rows, const Config& config,
                         const std::string& since,
                         const std::map<std::string, std::string>& key_names,
                         const std::optional<KeyBalance>& balance);

// The same report as a text table (from usageJson's output).
std::string usageTable(const nlohmann::json& usage);

// "YYYY-MM-DD" when text is a valid date; nullopt otherwise.
std::optional<std::string> parseDay(std::string_view text);

}  // namespace arkroute
