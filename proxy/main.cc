// arkroute's command line: `serve`, `check`, `cache`, `keys`, `usage`, `mcp`, `--version`.
// Only wiring lives here; signals and the service manager are ServiceLoop's.
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "conf/disk_room.h"
#include "conf/schema.h"
#include "proxy/cache_cli.h"
#include "proxy/config_reloader.h"
#include "proxy/gateway.h"
#include "proxy/mcp/stdio_bridge.h"
#include "proxy/money_cli.h"
#include "proxy/ops/access_log.h"
#include "proxy/ops/systemd_notifier.h"
#include "proxy/runtime.h"
#include "proxy/service_loop.h"

namespace {

using arkroute::Config;

constexpr const char* kUsage =
    "usage: arkroute serve --config FILE [--listen HOST:PORT]\n"
    "       arkroute check --config FILE\n"
    "       arkroute cache stats|purge [--model M] [--url http://HOST:PORT] --config FILE\n"
    "       arkroute keys create --name N [--budget-usd USD|unlimited] [--rpm N]\n"
    "                     [--images-per-min N] [--models a,b] [--expires YYYY-MM-DD] --config "
    "FILE\n"
    "       arkroute keys list|revoke [--id KEY_ID] --config FILE\n"
    "       arkroute usage [--since YYYY-MM-DD] [--format json] --config FILE\n"
    "       arkroute mcp [--url http://127.0.0.1:8080]   (stdio MCP bridge to a running gateway)\n"
    "       arkroute config-reference   (every setting as Markdown: docs/CONFIG.md)\n"
    "       arkroute --version\n";

struct Options {
  std::string command;
  std::map<std::string, std::string> flags;
};

bool parseOptions(int argc, char** argv, Options* out, std::string* error) {
  if (argc < 2) {
    *error = "missing command";
    return false;
  }
  out->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0) {
      *error = "unexpected argument '" + flag + "'";
      return false;
    }
    if (size_t equals = flag.find('='); equals != std::string::npos) {  // --config=FILE
      if (!out->flags.emplace(flag.substr(2, equals - 2), flag.substr(equals + 1)).second) {
        *error = flag.substr(0, equals) + " is given twice";
        return false;
      }
      continue;
    }
    // A flag followed by another flag has no value: "--url --config f" must not make "--config"
    // the URL and drop the config.
    if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("--")) {
      *error = flag + " needs a value";
      return false;
    }
    if (!out->flags.emplace(flag.substr(2), argv[++i]).second) {
      *error = flag + " is given twice";
      return false;
    }
  }
  return true;
}

// The flags a command takes. A misspelt one ("--model" for "--models", "--expire") must not be
// ignored: the key would be made without the limit its creator asked for.
std::vector<std::string_view> flagsOf(std::string_view command, std::string_view action) {
  if (command == "serve") return {"config", "listen"};
  if (command == "check") return {"config"};
  if (command == "cache") return {"config", "url", "model"};
  if (command == "usage") return {"config", "url", "since", "format"};
  if (command == "keys" && action == "create") {
    return {"config", "url", "name", "budget-usd", "rpm", "images-per-min", "models", "expires"};
  }
  if (command == "keys" && action == "revoke") return {"config", "url", "id"};
  if (command == "keys") return {"config", "url"};
  return {};
}

// Nothing when every flag is one the command takes; else the message naming the first that isn't.
std::optional<std::string> unknownFlag(const Options& options, std::string_view command) {
  std::string_view action = command == options.command ? std::string_view() : options.command;
  std::vector<std::string_view> known = flagsOf(command, action);
  for (const auto& [flag, value] : options.flags) {
    if (std::find(known.begin(), known.end(), flag) == known.end()) {
      return "unknown flag --" + flag + " for '" + std::string(command) +
             (action.empty() ? "" : " " + std::string(action)) + "'";
    }
  }
  return std::nullopt;
}

// Parses `arkroute COMMAND [ACTION] --flag value...` and checks its flags; false (said why) if not.
bool parseSubcommand(int argc, char** argv, std::string_view command, Options* out) {
  std::string error;
  if (parseOptions(argc, argv, out, &error)) {
    std::optional<std::string> unknown = unknownFlag(*out, command);
    if (!unknown) return true;
    error = *unknown;
  }
  std::cerr << "arkroute " << command << ": " << error << "\n" << kUsage;
  return false;
}

std::optional<arkroute::LoadedConfig> loadOrReport(
    const Options& options, arkroute::ProviderKeys keys = arkroute::ProviderKeys::kRead) {
  auto it = options.flags.find("config");
  if (it == options.flags.end()) {
    std::cerr << "arkroute: --config FILE is required\n" << kUsage;
    return std::nullopt;
  }
  try {
    return arkroute::loadConfig(it->second, arkroute::processEnvironment(), keys);
  } catch (const arkroute::ConfigError& error) {
    for (const auto& problem : error.problems()) std::cerr << problem.toString() << "\n";
    std::cerr << "arkroute: " << error.problems().size() << " problem(s) in " << it->second << "\n";
    return std::nullopt;
  }
}

void printWarnings(const arkroute::LoadedConfig& loaded) {
  for (const auto& warning : loaded.warnings)
    std::cerr << "warning: " << warning.toString() << "\n";
  if (auto disk = arkroute::cacheDiskWarning(loaded.config.cache)) {
    std::cerr << "warning: " << loaded.config.source_path << ": " << *disk << "\n";
  }
}

int runCheck(const Options& options) {
  auto loaded = loadOrReport(options, arkroute::ProviderKeys::kCheck);
  if (!loaded) return 1;
  printWarnings(*loaded);
  // What `serve` would fail on at start beyond the file itself: each upstream's TLS setup (its
  // ca_file a PEM bundle), and the access log's file.
  std::string error;
  auto config = std::make_shared<const Config>(loaded->config);
  if (!arkroute::Runtime::create(config, &error)) {
    std::cerr << "arkroute: " << error << "\n";
    return 1;
  }
  error = arkroute::ops::AccessLog::whyNotWritable(config->log.access_log);
  if (!error.empty()) {
    std::cerr << "arkroute: " << error << "\n";
    return 1;
  }
  if (auto problem = arkroute::cachePathProblem(config->cache.path)) {
    std::cerr << "arkroute: " << config->source_path << ": " << *problem << "\n";
    return 1;
  }
  if (auto warning = arkroute::cachePathWarning(config->cache.path)) {
    std::cerr << "warning: " << config->source_path << ": " << *warning << "\n";
  }
  std::cout << arkroute::describeConfig(loaded->config) << "config OK\n";
  return 0;
}

bool applyListenOverride(const Options& options, Config* config) {
  auto it = options.flags.find("listen");
  if (it == options.flags.end()) return true;
  auto address = arkroute::parseListen(it->second);
  if (!address) return false;
  arkroute::setListen(&config->server, std::move(address->first), address->second);
  return true;
}

int runServe(const Options& options) {
  auto loaded = loadOrReport(options);
  if (!loaded) return 1;
  printWarnings(*loaded);
  auto config = std::make_shared<Config>(std::move(loaded->config));
  auto adjust = [&options](Config* c) { return applyListenOverride(options, c); };
  if (!adjust(config.get())) {
    std::cerr << "arkroute: --listen must be IP:PORT (127.0.0.1:8080, 0.0.0.0:8080, [::1]:8080)\n";
    return 2;
  }
  arkroute::ops::SystemdNotifier notifier;
  arkroute::Gateway gateway(config);
  std::string error;
  if (!gateway.start(&error)) {
    std::cerr << "arkroute: cannot start: " << error << "\n";
    notifier.status("cannot start: " + error);
    return 1;
  }
  arkroute::ConfigReloader reloader(options.flags.at("config"), adjust);
  arkroute::ServiceLoop loop(gateway, reloader, notifier);  // handles signals from here on
  std::cout << "arkroute listening on " << gateway.listenUrl() << std::endl;
  return loop.run();
}

// `--help` or `-h` in place of a flag ("arkroute keys create --help"), not as a flag's value.
bool asksForHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return true;
    bool takes_value = arg.starts_with("--") && arg.find('=') == std::string_view::npos;
    if (takes_value && i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) ++i;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (asksForHelp(argc, argv)) {
    std::cout << kUsage;
    return 0;
  }
  if (argc == 2 &&
      (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
    std::cout << "arkroute " << ARKROUTE_VERSION << "\n";
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "config-reference") == 0) {
    std::cout << arkroute::renderConfigReference();
    return 0;
  }
  Options options;
  std::string error;
  if (argc >= 3 && std::strcmp(argv[1], "cache") == 0) {
    Options sub;
    if (!parseSubcommand(argc - 1, argv + 1, "cache", &sub)) return 2;
    return arkroute::runCacheCommand(sub.command, sub.flags);
  }
  if (argc == 2 && (std::strcmp(argv[1], "keys") == 0 || std::strcmp(argv[1], "cache") == 0)) {
    std::cerr << "arkroute " << argv[1] << ": which one? "
              << (argv[1][0] == 'k' ? "create, list or revoke" : "stats or purge") << "\n"
              << kUsage;
    return 2;
  }
  if (argc >= 3 && std::strcmp(argv[1], "keys") == 0) {
    Options sub;
    if (!parseSubcommand(argc - 1, argv + 1, "keys", &sub)) return 2;
    OPENSSL_init_ssl(0, nullptr);
    return arkroute::runKeysCommand(sub.command, sub.flags);
  }
  if (argc >= 2 && std::strcmp(argv[1], "usage") == 0) {
    Options sub;
    if (!parseSubcommand(argc, argv, "usage", &sub)) return 2;
    return arkroute::runUsageCommand(sub.flags);
  }
  if (argc >= 2 && (std::strcmp(argv[1], "serve") == 0 || std::strcmp(argv[1], "check") == 0)) {
    if (!parseSubcommand(argc, argv, argv[1], &options)) return 2;
    if (!options.flags.count("config")) {  // a usage error, as a missing value is
      std::cerr << "arkroute " << argv[1] << ": --config FILE is required\n" << kUsage;
      return 2;
    }
  } else if (!parseOptions(argc, argv, &options, &error)) {
    std::cerr << "arkroute: " << error << "\n" << kUsage;
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  evthread_use_pthreads();
  OPENSSL_init_ssl(0, nullptr);
  if (options.command == "serve") return runServe(options);
  if (options.command == "check") return runCheck(options);
  if (options.command == "mcp") return arkroute::mcp::runStdioBridge(options.flags);
  std::cerr << "arkroute: unknown command '" << options.command << "'\n" << kUsage;
  return 2;
}
