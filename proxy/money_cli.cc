// Key and usage commands: flags → key spec / filters, local database or admin API, printing.
#include "proxy/money_cli.h"

#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cache/kv_table.h"
#include "cache/rocks_database.h"
#include "conf/config.h"
#include "proxy/admin_client.h"
#include "proxy/key_spec_json.h"
#include "proxy/ledger.h"
#include "proxy/pricing.h"
#include "proxy/services.h"
#include "proxy/usage_report.h"
#include "proxy/virtual_keys.h"

namespace arkroute {

namespace {

constexpr const char* kKeysUsage =
    "usage: arkroute keys create --name N [--budget-usd USD|unlimited] [--rpm N]\n"
    "                            [--images-per-min N] [--models a,b] [--expires YYYY-MM-DD]\n"
    "                            --config FILE\n"
    "       arkroute keys list --config FILE\n"
    "       arkroute keys revoke --id KEY_ID --config FILE\n"
    "With a gateway running, these go through its admin API (token from auth.admin_token_env;\n"
    "--url http://HOST:PORT when it listens elsewhere than server.listen).\n";

// The config; --url http://HOST:PORT overrides where a running gateway's admin API is.
std::optional<Config> loadFor(const std::map<std::string, std::string>& flags,
                              const char* command) {
  auto it = flags.find("config");
  if (it == flags.end()) {
    std::cerr << "arkroute " << command << ": --config FILE is required\n";
    return std::nullopt;
  }
  Config config;
  try {
    config = loadConfig(it->second, processEnvironment(), ProviderKeys::kSkip).config;
  } catch (const ConfigError& error) {
    std::cerr << error.what() << "\n";
    return std::nullopt;
  }
  if (!applyUrlFlag(flags, command, &config)) return std::nullopt;
  return config;
}

// The database's tables, or nullptr + *error when it cannot be opened (usually: a gateway runs).
struct LocalState {
  std::shared_ptr<cache::RocksDatabase> database;
  std::unique_ptr<cache::KeyValueTable> keys;
  std::unique_ptr<cache::KeyValueTable> ledger;
};

std::optional<LocalState> openLocal(const Config& config, std::string* error) {
  if (config.cache.path.empty()) {
    *error = "cache.path is empty: keys and usage live only in the running gateway";
    return std::nullopt;
  }
  if (auto missing = missingDatabase(config.cache.path)) {
    *error = *missing;
    return std::nullopt;
  }
  LocalState state;
  state.database = cache::RocksDatabase::open(config.cache.path, error);
  if (!state.database) return std::nullopt;
  state.keys = cache::openFamilyTable(state.database, cache::RocksDatabase::kKeysFamily);
  state.ledger = cache::openFamilyTable(state.database, cache::RocksDatabase::kLedgerFamily);
  return state;
}

// Through the admin API of the running gateway; prints the body (pretty) on success.
int viaGateway(const Config& config, const std::string& method, const std::string& path,
               const std::string& body, const std::string& why_local_failed,
               nlohmann::json* answer) {
  if (config.auth.admin_token.empty()) {
    std::cerr << "arkroute: " << why_local_failed << "\nIf a gateway is running, set "
              << config.auth.admin_token_env << " to its admin token to use its admin API.\n";
    return 1;
  }
  int status = 0;
  auto response = adminRequest(config, method, path, &status, body);
  if (!response || status < 200 || status >= 300) {
    std::cerr << "arkroute: " << why_local_failed << "\nand the admin API answered " << status
              << " " << response.value_or("(unreachable)") << "\n";
    return 1;
  }
  *answer = nlohmann::json::parse(*response, nullptr, false);
  if (answer->is_discarded()) {  // not the admin API (a proxy's HTML page, another service)
    std::cerr << "arkroute: " << why_local_failed << "\nand " << config.auth.admin_token_env
              << "'s gateway answered " << status << " with a body that is not JSON\n";
    return 1;
  }
  return 0;
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Flags → the JSON body of POST /admin/keys (one validation path for CLI and API).
std::variant<nlohmann::json, std::string> specJson(const std::map<std::string, std::string>& f) {
  nlohmann::json spec = nlohmann::json::object();
  auto get = [&](const char* name) -> const std::string* {
    auto it = f.find(name);
    return it == f.end() ? nullptr : &it->second;
  };
  for (const char* text : {"name", "models", "expires"}) {  // JSON text can only carry UTF-8
    const std::string* value = get(text);
    if (value && !simdjson::validate_utf8(value->data(), value->size())) {
      return "--" + std::string(text) + " must be UTF-8 text";
    }
  }
  if (auto* name = get("name")) spec["name"] = *name;
  try {
    if (auto* budget = get("budget-usd")) {
      double usd = *budget == "unlimited" ? 0.0 : std::stod(*budget);
      // nan or inf would be written as null, which means no budget at all
      if (!std::isfinite(usd) || usd < 0) {
        return std::string("--budget-usd takes a non-negative number of dollars, or unlimited");
      }
      spec["budget_usd"] = *budget == "unlimited" ? nlohmann::json(nullptr) : nlohmann::json(usd);
    }
    if (auto* rpm = get("rpm")) spec["rpm"] = std::stoll(*rpm);
    if (auto* images = get("images-per-min")) spec["images_per_min"] = std::stoll(*images);
  } catch (const std::exception&) {
    return std::string("--budget-usd, --rpm and --images-per-min take numbers");
  }
  if (auto* models = get("models")) spec["models"] = splitList(*models);
  if (auto* expires = get("expires")) spec["expires"] = *expires;
  return spec;
}

void printKey(const nlohmann::json& key) {
  std::cout << key.value("id", "") << "  " << key.value("name", "");
  if (key.contains("budget_usd") && key["budget_usd"].is_number()) {
    std::cout << "  budget $" << key["budget_usd"].get<double>();
  } else {
    std::cout << "  budget unlimited";
  }
  if (key.contains("spent_usd")) std::cout << "  spent $" << key["spent_usd"].get<double>();
  if (key.value("revoked", false)) std::cout << "  REVOKED";
  std::cout << "\n";
}

int createKey(const Config& config, const std::map<std::string, std::string>& flags) {
  auto json = specJson(flags);
  if (auto* message = std::get_if<std::string>(&json)) {
    std::cerr << "arkroute keys create: " << *message << "\n" << kKeysUsage;
    return 2;
  }
  std::string body = std::get<nlohmann::json>(json).dump();
  auto spec = keySpecFromJson(body);
  if (auto* message = std::get_if<std::string>(&spec)) {
    std::cerr << "arkroute keys create: " << *message << "\n" << kKeysUsage;
    return 2;
  }
  for (const std::string& model : std::get<KeySpec>(spec).models) {
    if (!config.findModel(model)) {
      std::cerr << "arkroute keys create: model '" << model << "' is not configured\n";
      return 2;
    }
  }
  std::string error;
  nlohmann::json created;
  if (auto local = openLocal(config, &error)) {
    KeyRegistry registry(*local->keys);
    auto result =
        registry.create(std::get<KeySpec>(spec), config.auth.default_budget_usd, systemNowMs());
    if (auto* message = std::get_if<std::string>(&result)) {
      std::cerr << "arkroute keys create: " << *message << "\n";
      return 1;
    }
    created = std::get<CreatedKey>(result).key.toPublicJson();
    created["secret"] = std::get<CreatedKey>(result).secret;
  } else if (int rc = viaGateway(config, "POST", "/admin/keys", body, error, &created)) {
    return rc;
  }
  printKey(created);
  std::cout << "secret (shown once, store it now): " << created.value("secret", "") << "\n";
  return 0;
}

int listKeys(const Config& config) {
  std::string error;
  nlohmann::json keys = nlohmann::json::array();
  if (auto local = openLocal(config, &error)) {
    KeyRegistry registry(*local->keys);
    Ledger ledger(*local->ledger);
    for (const VirtualKey& key : registry.list()) {
      nlohmann::json item = key.toPublicJson();
      item["spent_usd"] = roundUsd(ledger.spent(key.id));
      keys.push_back(item);
    }
  } else {
    nlohmann::json answer;
    if (int rc = viaGateway(config, "GET", "/admin/keys", "", error, &answer)) return rc;
    keys = answer.value("data", nlohmann::json::array());
  }
  for (const auto& key : keys) printKey(key);
  if (keys.empty()) std::cout << "no keys yet: arkroute keys create --name NAME --config FILE\n";
  return 0;
}

int revokeKey(const Config& config, const std::map<std::string, std::string>& flags) {
  auto id = flags.find("id");
  if (id == flags.end()) {
    std::cerr << "arkroute keys revoke: --id KEY_ID is required\n" << kKeysUsage;
    return 2;
  }
  std::string error;
  if (auto local = openLocal(config, &error)) {
    KeyRegistry registry(*local->keys);
    if (!registry.revoke(id->second, &error)) {
      std::cerr << "arkroute keys revoke: " << error << "\n";
      return 1;
    }
  } else {
    nlohmann::json answer;
    if (int rc = viaGateway(config, "DELETE", "/admin/keys/" + id->second, "", error, &answer)) {
      return rc;
    }
  }
  std::cout << "revoked " << id->second << "\n";
  return 0;
}

}  // namespace

int runKeysCommand(const std::string& action, const std::map<std::string, std::string>& flags) {
  if (action != "create" && action != "list" && action != "revoke") {
    std::cerr << kKeysUsage;
    return 2;
  }
  auto config = loadFor(flags, "keys");
  if (!config) return 2;
  if (action == "create") return createKey(*config, flags);
  if (action == "list") return listKeys(*config);
  return revokeKey(*config, flags);
}

int runUsageCommand(const std::map<std::string, std::string>& flags) {
  auto config = loadFor(flags, "usage");
  if (!config) return 2;
  auto format = flags.find("format");
  bool as_json = format != flags.end() && format->second == "json";
  if (format != flags.end() && !as_json && format->second != "table") {
    std::cerr << "arkroute usage: --format takes json or table, not '" << format->second << "'\n";
    return 2;
  }
  std::string since;
  if (auto it = flags.find("since"); it != flags.end()) {
    auto day = parseDay(it->second);
    if (!day) {
      std::cerr << "arkroute usage: --since takes a date, YYYY-MM-DD\n";
      return 2;
    }
    since = *day;
  }
  std::string error;
  nlohmann::json usage;
  if (auto local = openLocal(*config, &error)) {
    KeyRegistry registry(*local->keys);
    Ledger ledger(*local->ledger);
    std::map<std::string, std::string> names;
    for (const VirtualKey& key : registry.list()) names[key.id] = key.name;
    usage = usageJson(ledger.rows("*", since), *config, since, names, std::nullopt);
  } else {
    std::string path = "/admin/usage" + (since.empty() ? "" : "?since=" + since);
    if (int rc = viaGateway(*config, "GET", path, "", error, &usage)) return rc;
  }
  if (as_json) {
    std::cout << usage.dump(2) << "\n";
  } else {
    std::cout << usageTable(usage);
  }
  return 0;
}

}  // namespace arkroute
