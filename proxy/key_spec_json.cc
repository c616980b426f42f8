// Key specification parsing and validation.
#include "proxy/key_spec_json.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "proxy/usage_report.h"

namespace arkroute {

int64_t dayStartMs(std::string_view day) {
  auto valid = parseDay(day);  // a real day, YYYY-MM-DD and nothing else
  if (!valid) return -1;
  tm parts{};
  strptime(valid->c_str(), "%Y-%m-%d", &parts);
  return static_cast<int64_t>(timegm(&parts)) * 1000;
}

namespace {

constexpr std::string_view kSpecFields[] = {"name",           "budget_usd", "rpm",
                                            "images_per_min", "models",     "expires"};

// A parse callback that notes in *why a member of the body that cannot be read as written: one
// that is not a spec field (a misspelt "rmp" would make a key without the limit meant), or one
// given twice (the last would win, silently).
nlohmann::json::parser_callback_t memberCheck(std::set<std::string, std::less<>>* seen,
                                              std::optional<std::string>* why) {
  return [seen, why](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event != nlohmann::json::parse_event_t::key || depth != 1 || *why) return true;
    const std::string& name = parsed.get_ref<const std::string&>();
    if (std::find(std::begin(kSpecFields), std::end(kSpecFields), name) == std::end(kSpecFields)) {
      *why = "unknown field '" + name +
             "' (a key takes name, budget_usd, rpm, images_per_min, models and expires)";
    } else if (!seen->insert(name).second) {
      *why = "'" + name + "' is given twice";
    }
    return true;
  };
}

}  // namespace

std::variant<KeySpec, std::string> keySpecFromJson(std::string_view body) {
  std::set<std::string, std::less<>> seen;
  std::optional<std::string> unread;
  auto json = nlohmann::json::parse(body, memberCheck(&seen, &unread), false);
  if (!json.is_object()) return std::string("the body must be a JSON object");
  if (unread) return *unread;
  KeySpec spec;
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto it = json.find(name);
    return it == json.end() ? nullptr : &*it;
  };
  if (auto* name = field("name"); name && name->is_string()) spec.name = name->get<std::string>();
  if (spec.name.empty()) return std::string("'name' is required (a non-empty string)");
  if (auto* budget = field("budget_usd")) {
    if (budget->is_null()) {
      spec.unlimited = true;
    } else if (budget->is_number() && std::isfinite(budget->get<double>()) &&
               budget->get<double>() >= 0) {
      spec.budget_usd = budget->get<double>();
    } else {
      return std::string("'budget_usd' must be a non-negative number, or null for no budget");
    }
  }
  for (auto [name, out] : {std::pair{"rpm", &spec.rpm}, {"images_per_min", &spec.images_per_min}}) {
    if (auto* value = field(name)) {
      if (!value->is_number_integer() || value->get<int64_t>() < 0 ||
          value->get<int64_t>() > 1'000'000) {
        return "'" + std::string(name) + "' must be an integer from 0 (no limit) to 1000000";
      }
      *out = value->get<int>();
    }
  }
  if (auto* models = field("models")) {
    if (!models->is_array()) return std::string("'models' must be a list of model names");
    for (const auto& model : *models) {
      if (!model.is_string()) return std::string("'models' must be a list of model names");
      spec.models.push_back(model.get<std::string>());
    }
  }
  if (auto* expires = field("expires"); expires && !expires->is_null()) {
    int64_t ms = expires->is_string() ? dayStartMs(expires->get<std::string>()) : -1;
    // 0 would mean "never expires": 1970-01-01 and before are refused, not kept forever.
    if (ms <= 0) return std::string("'expires' must be a date after 1970-01-01, YYYY-MM-DD (UTC)");
    spec.expires_ms = ms;
  }
  return spec;
}

}  // namespace arkroute
