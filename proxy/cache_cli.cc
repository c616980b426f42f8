// The cache subcommand: direct RocksDB access, or the admin API of a running gateway.
#include "proxy/cache_cli.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "cache/rocks_store.h"
#include "conf/config.h"
#include "proxy/admin_client.h"

namespace arkroute {

namespace {

std::string statsJson(const cache::CacheStats& stats) {
  return nlohmann::json{{"entries", stats.entries},     {"bytes", stats.bytes},
                        {"hits", stats.hits},           {"misses", stats.misses},
                        {"evictions", stats.evictions}, {"corrupt", stats.corrupt}}
      .dump();
}

int viaGateway(const Config& config, const std::string& action,
               const std::optional<std::string>& model, const std::string& why_local_failed) {
  if (config.auth.admin_token.empty()) {
    std::cerr << "arkroute cache: " << why_local_failed
              << "\nA running gateway holds the cache; set " << config.auth.admin_token_env
              << " to its admin token to go through its admin API.\n";
    return 1;
  }
  std::string path = action == "stats" ? "/admin/cache/stats" : "/admin/cache";
  if (model) path += "?model=" + *model;
  int status = 0;
  auto body = adminRequest(config, action == "stats" ? "GET" : "DELETE", path, &status);
  if (!body || status != 200) {
    std::cerr << "arkroute cache: " << why_local_failed << "\nand the admin API at "
              << config.server.listen_host << ":" << config.server.listen_port << " answered "
              << status << " " << body.value_or("(unreachable)") << "\n";
    return 1;
  }
  std::cout << *body << "\n";
  return 0;
}

}  // namespace

int runCacheCommand(const std::string& action, const std::map<std::string, std::string>& flags) {
  if (action != "stats" && action != "purge") {
    std::cerr << "usage: arkroute cache stats|purge [--model M] [--url http://HOST:PORT] --config "
                 "FILE\n";
    return 2;
  }
  auto config_flag = flags.find("config");
  if (config_flag == flags.end()) {
    std::cerr << "arkroute cache: --config FILE is required\n";
    return 2;
  }
  LoadedConfig loaded;
  try {
    loaded = loadConfig(config_flag->second, processEnvironment(), ProviderKeys::kSkip);
  } catch (const ConfigError& error) {
    std::cerr << error.what() << "\n";
    return 1;
  }
  if (!applyUrlFlag(flags, "cache", &loaded.config)) return 2;
  std::optional<std::string> model;
  if (auto it = flags.find("model"); it != flags.end()) model = it->second;
  std::string error;
  std::unique_ptr<cache::RocksCacheStore> store;
  if (auto missing = missingDatabase(loaded.config.cache.path)) {
    error = *missing;
  } else {
    store = cache::RocksCacheStore::open(loaded.config.cache.path, loaded.config.cache.max_bytes,
                                         &error);
  }
  if (!store) return viaGateway(loaded.config, action, model, error);
  if (action == "stats") {
    std::cout << statsJson(store->stats()) << "\n";
  } else {
    uint64_t removed = store->purge(model);
    std::cout << nlohmann::json{{"purged", removed}}.dump() << "\n";
  }
  return 0;
}

}  // namespace arkroute
