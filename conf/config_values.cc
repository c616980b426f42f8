// Parsing of the value formats used in the config: durations, byte sizes, listen addresses and
// upstream base URLs; enum names; and the small Config lookups.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "conf/config.h"

namespace arkroute {

namespace {

std::optional<uint64_t> parseNumberPrefix(std::string_view text, std::string_view* unit) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) return std::nullopt;
  *unit = text.substr(static_cast<size_t>(end - text.data()));
  while (!unit->empty() && unit->front() == ' ') unit->remove_prefix(1);
  return value;
}

}  // namespace

std::optional<std::pair<std::string, uint16_t>> parseListen(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address goes in brackets: "::1:8080" reads two ways
  }
  std::string_view digits = text.substr(colon + 1);
  uint16_t port = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  std::string address(host);  // the listener takes addresses, never names to resolve
  unsigned char bytes[sizeof(in6_addr)];
  if (inet_pton(AF_INET, address.c_str(), bytes) != 1 &&
      inet_pton(AF_INET6, address.c_str(), bytes) != 1) {
    return std::nullopt;
  }
  return std::make_pair(std::move(address), port);
}

std::string listenUrl(std::string_view host, uint16_t port) {
  std::string shown(host);
  if (host == "0.0.0.0") shown = "127.0.0.1";
  if (host == "::") shown = "::1";
  if (shown.find(':') != std::string::npos) shown = "[" + shown + "]";
  return "http://" + shown + ":" + std::to_string(port);
}

void setListen(ServerConfig* server, std::string host, uint16_t port) {
  server->listen_host = std::move(host);
  server->listen_port = port;
  if (!server->public_url_given) server->public_url = listenUrl(server->listen_host, port);
}

std::string_view toString(AuthMode mode) {
  switch (mode) {
    case AuthMode::kOpen:
      return "open";
    case AuthMode::kKeys:
      return "keys";
    case AuthMode::kPassthrough:
      return "passthrough";
  }
  return "?";
}

std::string_view toString(CacheScope scope) {
  return scope == CacheScope::kShared ? "shared" : "per_key";
}

std::string_view toString(UpstreamApi api) {
  switch (api) {
    case UpstreamApi::kKling:
      return "kling";
    case UpstreamApi::kSeedream:
      return "seedream";
    case UpstreamApi::kOpenAI:
      break;
  }
  return "openai";
}

std::optional<Millis> parseDuration(std::string_view text) {
  std::string_view unit;
  auto value = parseNumberPrefix(text, &unit);
  if (!value) return std::nullopt;
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  for (auto [name, factor] : kUnits) {
    if (unit == name) return Millis(static_cast<int64_t>(*value * factor));
  }
  return std::nullopt;
}

std::optional<uint64_t> parseByteSize(std::string_view text) {
  std::string_view unit;
  auto value = parseNumberPrefix(text, &unit);
  if (!value) return std::nullopt;
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {{"", 1},
                                                                     {"B", 1},
                                                                     {"KiB", 1ULL << 10},
                                                                     {"MiB", 1ULL << 20},
                                                                     {"GiB", 1ULL << 30},
                                                                     {"TiB", 1ULL << 40},
                                                                     {"KB", 1000},
                                                                     {"MB", 1000'000},
                                                                     {"GB", 1000'000'000},
                                                                     {"TB", 1000'000'000'000ULL}};
  for (auto [name, factor] : kUnits) {
    if (unit != name) continue;
    if (*value > UINT64_MAX / factor) return std::nullopt;  // would wrap around ("16777216TiB")
    return *value * factor;
  }
  return std::nullopt;
}

const ModelConfig* Config::findModel(std::string_view name) const {
  for (const auto& model : models) {
    if (model.name == name) return &model;
  }
  return nullptr;
}

const UpstreamConfig* Config::findUpstream(std::string_view name) const {
  for (const auto& upstream : upstreams) {
    if (upstream.name == name) return &upstream;
  }
  return nullptr;
}

std::string ConfigProblem::toString() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

static std::string joinProblems(const std::vector<ConfigProblem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += '\n';
    out += p.toString();
  }
  return out;
}

ConfigError::ConfigError(std::vector<ConfigProblem> problems)
    : std::runtime_error(joinProblems(problems)), problems_(std::move(problems)) {}

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace arkroute
