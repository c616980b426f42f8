// The configuration schema: plain, immutable value types filled once by loadConfig() from a TOML
// file (toml++). Nothing here touches sockets. A Config is shared read-only between worker threads
// through std::shared_ptr<const Config>; a reload builds a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "conf/price.h"

namespace arkroute {

using Millis = std::chrono::milliseconds;

enum class AuthMode { kOpen, kKeys, kPassthrough };
enum class CacheScope { kShared, kPerKey };

std::string_view toString(AuthMode mode);
std::string_view toString(CacheScope scope);

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  int workers = 0;                     // 0 = one per core
  uint64_t max_body_bytes = 52428800;  // request bodies above this get 413
  uint64_t max_header_bytes = 65536;   // request heads above this get 431
  Millis idle_timeout{60'000};         // keep-alive connection with no request in progress
  Millis request_timeout{30'000};      // a request (head + body) must arrive within this
  Millis write_timeout{120'000};       // client that reads nothing for this long is dropped
  Millis drain_timeout{30'000};        // graceful shutdown: how long in-flight requests get
  std::string public_url = "http://127.0.0.1:8080";  // base for URLs the gateway hands out
  bool public_url_given = false;  // else public_url follows listen (see listenUrl)
};

struct AuthConfig {
  AuthMode mode = AuthMode::kOpen;
  std::string admin_token_env = "ARKROUTE_ADMIN_TOKEN";
  std::string admin_token;  // resolved from admin_token_env at load; empty = admin API disabled
  double default_budget_usd = 5.0;  // free credits of a key created without --budget-usd
};

struct CacheConfig {
  bool enabled = true;
  std::string path = "./var/arkroute";
  Millis ttl{30LL * 24 * 3600 * 1000};
  uint64_t max_bytes = 20ULL << 30;
  uint64_t max_pending_bytes = 256ULL << 20;  // accepted entries not yet written (memory)
  uint64_t memory_bytes = 0;  // recent entries kept in memory; 0: min(max_bytes / 4, 256 MiB)
  CacheScope scope = CacheScope::kShared;
};

// The protocol an upstream speaks: OpenAI's Images API (OpenAI, Google's compatible endpoint, any
// compatible host), Seedream's (OpenAI's for generations; an edit is sent as a generation with its
// images as data URIs), or Kling's asynchronous tasks (submit, poll, download).
enum class UpstreamApi { kOpenAI, kSeedream, kKling };
std::string_view toString(UpstreamApi api);

struct UpstreamConfig {
  std::string name;
  std::string base_url;  // e.g. "https://api.openai.com/v1"
  UpstreamApi api = UpstreamApi::kOpenAI;
  Millis poll_interval{2'000};  // kling: how often a submitted task is polled
  // Parsed from base_url at load time.
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // "/v1" (no trailing slash; "" for none)

  std::string api_key_env;   // name of the environment variable holding the provider key
  std::string api_key_file;  // or a file with it: absolute, or a name in $CREDENTIALS_DIRECTORY
  std::string api_key;       // resolved value; NEVER logged, printed or put in an error
                             // (kling: "ACCESS_KEY:SECRET_KEY", signed into a JWT per request)
  std::string ca_file;       // PEM bundle to verify the provider with; "" = system CA store
  bool tls_verify = true;    // false only for local testing; `check` warns about it
  int max_connections = 64;  // per worker
  Millis connect_timeout{10'000};
  Millis first_byte_timeout{600'000};  // request sent → response head received
  Millis timeout{600'000};             // whole exchange, first byte of request to last of response
  Millis idle_timeout{60'000};  // pooled keep-alive connection unused for this long is closed

  // Shaping: requests beyond these wait in a FIFO queue instead of tripping the provider's 429.
  int max_concurrency = 0;       // in flight to this upstream, all workers together; 0 = no limit
  int rpm = 0;                   // requests started per minute; 0 = no limit
  int max_queue = 256;           // waiting requests; beyond → 429
  Millis queue_timeout{60'000};  // longest wait in the queue; then 429
  // Retries (only before any byte reached the client) and ejection.
  int max_retries = 2;
  Millis retry_base{500};         // first backoff; doubles each retry, with jitter
  Millis retry_max_wait{20'000};  // cap on one backoff, retry-after included
  int weight = 1;                 // share among upstreams serving the same model
  int eject_after = 5;            // consecutive failures before a cooldown; 0 = never eject
  Millis eject_for{30'000};       // cooldown; then one probe request decides
};

struct ModelConfig {
  std::string name;                    // what clients send as `model`
  std::string upstream;                // UpstreamConfig::name
  std::vector<std::string> upstreams;  // all upstreams serving it (upstream first); least-loaded
  std::string upstream_model;          // what is sent upstream; defaults to name
  std::vector<std::string> fallbacks;  // other model names, tried in order
  bool cache = true;                   // false: never cached
  // What the provider answers with when a request names no response_format: "b64_json" or "url".
  std::string default_response_format = "b64_json";
  std::optional<ModelPrice> price;  // [model.price]; nullopt = cost unknown
};

struct LogConfig {
  std::string access_log = "stdout";  // "stdout" | "off" | a file path (appended to)
  bool prompts = false;               // true: the access log carries prompts, not only a hash
};

struct McpConfig {
  bool enabled = true;                       // serve the MCP endpoint at /mcp
  std::vector<std::string> allowed_origins;  // browser Origins allowed besides the gateway's own
  std::string default_model;                 // generate_image without a model; "" = first model
  Millis session_ttl{3'600'000};             // an MCP session unused for this long expires
  int max_sessions = 10000;                  // above this the least recently used session ends

  bool operator==(const McpConfig&) const = default;
};

struct Config {
  std::string source_path;  // the file it was loaded from
  ServerConfig server;
  LogConfig log;
  McpConfig mcp;
  AuthConfig auth;
  CacheConfig cache;
  std::vector<UpstreamConfig> upstreams;
  std::vector<ModelConfig> models;

  const ModelConfig* findModel(std::string_view name) const;
  const UpstreamConfig* findUpstream(std::string_view name) const;
};

// One problem found while loading. line/column are 0 when unknown.
struct ConfigProblem {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string toString() const;  // "file:line:col: message"
};

// Thrown by loadConfig with every problem found (not just the first).
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<ConfigProblem> problems);
  const std::vector<ConfigProblem>& problems() const { return problems_; }

 private:
  std::vector<ConfigProblem> problems_;
};

// Looks up an environment variable; injected so tests need not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup processEnvironment();

struct LoadedConfig {
  Config config;
  std::vector<ConfigProblem> warnings;  // valid but worth saying (tls_verify = false, ...)
};

// What loading does with the upstreams' provider keys (api_key_env, api_key_file).
enum class ProviderKeys {
  kRead,   // serve and reload: each must be readable
  kCheck,  // `check`: as kRead, but a systemd credential name outside systemd (no
           // $CREDENTIALS_DIRECTORY) is a warning, since only the service is given it
  kSkip,   // keys, usage, cache: commands that never call a provider do not read them
};

// Parses and validates a TOML file. Throws ConfigError listing every problem.
LoadedConfig loadConfig(const std::string& path, const EnvLookup& env = processEnvironment(),
                        ProviderKeys keys = ProviderKeys::kRead);
// Same, from text (path is only used in messages).
LoadedConfig loadConfigFromString(std::string_view toml_text, const std::string& path,
                                  const EnvLookup& env = processEnvironment(),
                                  ProviderKeys keys = ProviderKeys::kRead);

// The summary `arkroute check` prints: listen address, auth, cache, upstreams (never their keys)
// and models.
std::string describeConfig(const Config& config);

// "250ms", "600s", "5m", "2h", "30d" (a bare integer is seconds). nullopt when malformed.
std::optional<Millis> parseDuration(std::string_view text);
// "1024", "512KiB", "20GiB", "1MB", "10KB" (KB/MB/GB are powers of 1000). nullopt when malformed.
std::optional<uint64_t> parseByteSize(std::string_view text);
// "IP:PORT", "[IPv6]:PORT" → the address (without brackets) and the port. nullopt when malformed
// or when the host is a name ("localhost"): the listener binds addresses, it resolves nothing.
std::optional<std::pair<std::string, uint16_t>> parseListen(std::string_view text);
// The URL clients reach a listen address at: http://HOST:PORT, a wildcard host (0.0.0.0, ::) as
// loopback, an IPv6 host in brackets. What public_url is when the config does not set it.
std::string listenUrl(std::string_view host, uint16_t port);
// Moves the listen address (a --listen override), and public_url with it unless it was given.
void setListen(ServerConfig* server, std::string host, uint16_t port);

}  // namespace arkroute
