// The human summary of a loaded config printed by `arkroute check` (keys are never printed).
#include <sstream>

#include "conf/config.h"

namespace arkroute {

namespace {

std::string seconds(Millis value) {
  auto ms = value.count();
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string keySource(const UpstreamConfig& u) {
  if (!u.api_key_env.empty()) return "from $" + u.api_key_env;
  if (!u.api_key_file.empty()) return "from file " + u.api_key_file;
  return "none";
}

}  // namespace

std::string describeConfig(const Config& config) {
  std::ostringstream out;
  const ServerConfig& s = config.server;
  out << "listen    " << s.listen_host << ":" << s.listen_port
      << " (workers: " << (s.workers == 0 ? std::string("one per core") : std::to_string(s.workers))
      << ")\n";
  out << "auth      " << toString(config.auth.mode) << ", admin API "
      << (config.auth.admin_token.empty() ? "disabled" : "enabled") << "\n";
  const CacheConfig& c = config.cache;
  if (c.enabled) {
    out << "cache     " << c.path << " (ttl " << seconds(c.ttl) << ", max " << c.max_bytes
        << " bytes, scope " << toString(c.scope) << ")\n";
  } else {
    out << "cache     disabled\n";
  }
  for (const UpstreamConfig& u : config.upstreams) {
    out << "upstream  " << u.name << " → " << u.base_url << " (";
    if (u.api == UpstreamApi::kKling)
      out << "Kling tasks polled every " << seconds(u.poll_interval) << ", ";
    out << "key: " << keySource(u) << ", " << u.max_connections
        << " connections per worker, timeout " << seconds(u.timeout) << ")\n";
  }
  for (const ModelConfig& m : config.models) {
    out << "model     " << m.name << " → " << m.upstream;
    if (m.upstream_model != m.name) out << " as " << m.upstream_model;
    if (!m.fallbacks.empty()) {
      out << ", fallbacks:";
      for (const auto& f : m.fallbacks) out << " " << f;
    }
    out << (m.cache ? "" : ", not cached")
        << (m.default_response_format == "url" ? ", answers with URLs by default" : "")
        << (m.price ? "" : ", no price (cost unknown)") << "\n";
  }
  return out.str();
}

}  // namespace arkroute
