// Reloading the config file: validation, command-line overrides, and keeping restart-only settings.
#include "proxy/config_reloader.h"

namespace arkroute {

namespace {

// Keeps *next = running when they differ, noting name.
template <typename T>
void keep(const char* name, const T& running, T* next, std::vector<std::string>* notes) {
  if (*next == running) return;
  *next = running;
  notes->push_back(name);
}

}  // namespace

ReloadPlan planReload(const Config& running, Config next) {
  std::vector<std::string> notes;
  const ServerConfig& s = running.server;
  ServerConfig& n = next.server;
  if (n.listen_host != s.listen_host || n.listen_port != s.listen_port) {
    setListen(&n, s.listen_host, s.listen_port);  // a public_url that follows listen follows it
    notes.push_back("server.listen");
  }
  // Each worker's MCP endpoint takes it as an allowed Origin when it first serves (as [mcp]).
  keep("server.public_url", s.public_url, &n.public_url, &notes);
  keep("server.workers", s.workers, &n.workers, &notes);
  keep("server.max_body_bytes", s.max_body_bytes, &n.max_body_bytes, &notes);
  keep("server.max_header_bytes", s.max_header_bytes, &n.max_header_bytes, &notes);
  keep("server.idle_timeout", s.idle_timeout, &n.idle_timeout, &notes);
  keep("server.request_timeout", s.request_timeout, &n.request_timeout, &notes);
  keep("server.write_timeout", s.write_timeout, &n.write_timeout, &notes);
  keep("cache.enabled", running.cache.enabled, &next.cache.enabled, &notes);
  keep("cache.path", running.cache.path, &next.cache.path, &notes);
  keep("cache.max_bytes", running.cache.max_bytes, &next.cache.max_bytes, &notes);
  keep("cache.memory_bytes", running.cache.memory_bytes, &next.cache.memory_bytes, &notes);
  keep("cache.max_pending_bytes", running.cache.max_pending_bytes, &next.cache.max_pending_bytes,
       &notes);
  keep("log.access_log", running.log.access_log, &next.log.access_log, &notes);
  // Each worker's MCP endpoint copies [mcp] when it first serves, and the session store exists
  // only when it was enabled at start: a change could otherwise apply on some workers only.
  keep("mcp", running.mcp, &next.mcp, &notes);
  return ReloadPlan{std::make_shared<const Config>(std::move(next)), std::move(notes)};
}

ConfigReloader::ConfigReloader(std::string path, std::function<bool(Config*)> adjust, EnvLookup env)
    : path_(std::move(path)), adjust_(std::move(adjust)), env_(std::move(env)) {}

std::shared_ptr<const Config> ConfigReloader::load(const Config& running, std::ostream& log) const {
  LoadedConfig loaded;
  try {
    loaded = loadConfig(path_, env_);
  } catch (const ConfigError& error) {
    for (const auto& problem : error.problems()) log << problem.toString() << "\n";
    log << "arkroute: reload rejected: " << error.problems().size() << " problem(s) in " << path_
        << "; still serving the previous config\n";
    return nullptr;
  }
  for (const auto& warning : loaded.warnings) log << "warning: " << warning.toString() << "\n";
  if (adjust_ && !adjust_(&loaded.config)) {
    log << "arkroute: reload rejected: command-line overrides do not apply\n";
    return nullptr;
  }
  ReloadPlan plan = planReload(running, std::move(loaded.config));
  // [mcp] is kept from the running config: its default model must still be one to route to.
  const std::string& mcp_model = plan.config->mcp.default_model;
  if (!mcp_model.empty() && !plan.config->findModel(mcp_model)) {
    log << "arkroute: reload rejected: the running mcp.default_model '" << mcp_model
        << "' (kept until a restart) is not a model in " << path_
        << "; still serving the previous config\n";
    return nullptr;
  }
  for (const auto& name : plan.needs_restart) {
    log << "arkroute: " << name << " changed in " << path_
        << " but needs a restart; keeping the running value\n";
  }
  return plan.config;
}

}  // namespace arkroute
