// Loads a TOML file (toml++) into a validated Config, collecting every problem with its file:line
// before throwing. Unknown keys and wrong types are checked against the schema table. This file
// owns the value readers, the [server], [auth], [cache], [log], [mcp] and [[model]] tables and the
// entry points; [[upstream]] tables are config_upstream.cc's.
#include "conf/config_loader.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "conf/config.h"
#include "conf/file_text.h"
#include "conf/schema.h"

namespace arkroute {

namespace config_detail {

void Loader::problem(const toml::node& at, std::string message, bool warning) {
  ConfigProblem p{file_, static_cast<int>(at.source().begin.line),
                  static_cast<int>(at.source().begin.column), std::move(message)};
  (warning ? out_.warnings : problems_).push_back(std::move(p));
}

void Loader::checkKeys(const toml::table& table, std::string_view section) {
  for (const auto& [key, node] : table) {
    if (findSetting(section, key.str())) continue;
    std::string message =
        "unknown key '" + std::string(key.str()) + "' in [" + std::string(section) + "]";
    std::string hint = suggestKey(section, key.str());
    if (!hint.empty()) message += " (did you mean '" + hint + "'?)";
    problem(node, message);
  }
}

const toml::node* Loader::typed(const toml::table& t, std::string_view section,
                                std::string_view key, bool string_or_int) {
  const toml::node* node = t.get(key);
  if (!node) return nullptr;
  const Setting* setting = findSetting(section, key);
  bool ok = true;
  switch (setting->type) {
    case SettingType::kString:
      ok = node->is_string();
      break;
    case SettingType::kInteger:
      ok = node->is_integer();
      break;
    case SettingType::kNumber:
      ok = node->is_number();
      break;
    case SettingType::kBoolean:
      ok = node->is_boolean();
      break;
    case SettingType::kDuration:
    case SettingType::kByteSize:
      ok = node->is_string() || node->is_integer();
      break;
    case SettingType::kStringList:
      ok = node->is_array();
      break;
    case SettingType::kTable:
      ok = node->is_table();
      break;
  }
  if (!ok) {
    problem(*node,
            std::string(section) + "." + std::string(key) + ": expected " +
                std::string(toString(setting->type)) + ", got " +
                std::string(toml::impl::node_type_friendly_names[static_cast<int>(node->type())]));
    return nullptr;
  }
  return node;
}

void Loader::readString(const toml::table& t, std::string_view section, std::string_view key,
                        std::string* out) {
  if (const toml::node* n = typed(t, section, key)) *out = n->as_string()->get();
}

void Loader::readNumber(const toml::table& t, std::string_view section, std::string_view key,
                        double* out) {
  if (const toml::node* n = typed(t, section, key)) *out = n->value<double>().value_or(*out);
}

void Loader::readBool(const toml::table& t, std::string_view section, std::string_view key,
                      bool* out) {
  if (const toml::node* n = typed(t, section, key)) *out = n->as_boolean()->get();
}

void Loader::readDuration(const toml::table& t, std::string_view section, std::string_view key,
                          Millis* out) {
  const toml::node* n = typed(t, section, key);
  if (!n) return;
  std::optional<Millis> value = n->is_integer()
                                    ? std::optional<Millis>(Millis(n->as_integer()->get() * 1000))
                                    : parseDuration(n->as_string()->get());
  if (!value || value->count() <= 0) {
    problem(*n, std::string(section) + "." + std::string(key) +
                    ": expected a positive duration like \"500ms\", \"600s\", \"5m\", \"30d\"");
    return;
  }
  *out = *value;
}

void Loader::readSize(const toml::table& t, std::string_view section, std::string_view key,
                      uint64_t* out) {
  const toml::node* n = typed(t, section, key);
  if (!n) return;
  std::optional<uint64_t> value;
  if (!n->is_integer()) {
    value = parseByteSize(n->as_string()->get());
  } else if (n->as_integer()->get() >= 0) {  // -1 would wrap to 16 EiB: "no limit"
    value = static_cast<uint64_t>(n->as_integer()->get());
  }
  if (!value) {
    problem(*n, std::string(section) + "." + std::string(key) +
                    ": expected a size like 1048576, \"512KiB\" or \"20GiB\"");
    return;
  }
  *out = *value;
}

}  // namespace config_detail

using config_detail::Loader;

void Loader::loadServer(const toml::table& t) {
  checkKeys(t, "server");
  ServerConfig& s = out_.config.server;
  readString(t, "server", "public_url", &s.public_url);
  s.public_url_given = t.contains("public_url");
  std::string listen;
  readString(t, "server", "listen", &listen);
  if (t.contains("listen") && t.get("listen")->is_string()) {  // "" too: never a silent default
    if (auto address = parseListen(listen)) {
      setListen(&s, std::move(address->first), address->second);
    } else {
      problem(*t.get("listen"),
              "server.listen: expected IP:PORT (127.0.0.1:8080, 0.0.0.0:8080, "
              "[::1]:8080), got '" +
                  listen + "'");
    }
  }
  readInt(t, "server", "workers", &s.workers);
  if (s.workers < 0 || s.workers > 256) problem(*t.get("workers"), "server.workers: 0 to 256");
  readSize(t, "server", "max_body_bytes", &s.max_body_bytes);
  if (s.max_body_bytes < 1024)
    problem(*t.get("max_body_bytes"), "server.max_body_bytes: at least 1KiB");
  readSize(t, "server", "max_header_bytes", &s.max_header_bytes);
  if (s.max_header_bytes < 1024)
    problem(*t.get("max_header_bytes"), "server.max_header_bytes: at least 1KiB");
  readDuration(t, "server", "idle_timeout", &s.idle_timeout);
  readDuration(t, "server", "request_timeout", &s.request_timeout);
  readDuration(t, "server", "write_timeout", &s.write_timeout);
  readDuration(t, "server", "drain_timeout", &s.drain_timeout);
  if (!s.public_url.starts_with("http://") && !s.public_url.starts_with("https://")) {
    problem(*t.get("public_url"), "server.public_url should start with http:// or https://", true);
  }
}

void Loader::loadAuth(const toml::table& t) {
  checkKeys(t, "auth");
  std::string mode;
  readString(t, "auth", "mode", &mode);
  AuthConfig& a = out_.config.auth;
  if (mode == "keys") {
    a.mode = AuthMode::kKeys;
  } else if (mode == "passthrough") {
    a.mode = AuthMode::kPassthrough;
  } else if (!mode.empty() && mode != "open") {
    problem(*t.get("mode"), "auth.mode: expected open, keys or passthrough, got '" + mode + "'");
  }
  readString(t, "auth", "admin_token_env", &a.admin_token_env);
  readNumber(t, "auth", "default_budget_usd", &a.default_budget_usd);
  if (!std::isfinite(a.default_budget_usd) || a.default_budget_usd < 0) {
    problem(*t.get("default_budget_usd"), "auth.default_budget_usd must be a non-negative number");
  }
}

void Loader::loadCache(const toml::table& t) {
  checkKeys(t, "cache");
  CacheConfig& c = out_.config.cache;
  readBool(t, "cache", "enabled", &c.enabled);
  readString(t, "cache", "path", &c.path);
  readDuration(t, "cache", "ttl", &c.ttl);
  readSize(t, "cache", "max_bytes", &c.max_bytes);
  readSize(t, "cache", "max_pending_bytes", &c.max_pending_bytes);
  readSize(t, "cache", "memory_bytes", &c.memory_bytes);
  if (c.max_bytes == 0) {
    problem(*t.get("max_bytes"),
            "cache.max_bytes must be more than 0 (to turn the cache off: enabled = false)");
  }
  if (c.max_pending_bytes < (1ULL << 20)) {
    problem(*t.get("max_pending_bytes"), "cache.max_pending_bytes must be at least 1MiB");
  }
  std::string scope;
  readString(t, "cache", "scope", &scope);
  if (scope == "per_key") {
    c.scope = CacheScope::kPerKey;
  } else if (!scope.empty() && scope != "shared") {
    problem(*t.get("scope"), "cache.scope: expected shared or per_key, got '" + scope + "'");
  }
  if (c.enabled && c.path.empty())
    problem(t, "cache.path must not be empty when the cache is enabled");
}

// With auth.mode = "passthrough" callers bring their own provider keys, and a shared cache hands
// one caller's paid images to any other, whatever its key: per_key unless the file says shared.
void Loader::scopePassthroughCache(const toml::table& root) {
  if (out_.config.auth.mode != AuthMode::kPassthrough) return;
  const toml::node* scope = root.at_path("cache.scope").node();
  if (!scope) {
    out_.config.cache.scope = CacheScope::kPerKey;
  } else if (out_.config.cache.scope == CacheScope::kShared) {
    problem(*scope,
            "cache.scope = \"shared\" with auth.mode = \"passthrough\": a cached image is served "
            "to any caller, whatever key it sends, free; per_key keeps each key's own",
            true);
  }
}

void Loader::loadLog(const toml::table& t) {
  checkKeys(t, "log");
  LogConfig& l = out_.config.log;
  readString(t, "log", "access_log", &l.access_log);
  readBool(t, "log", "prompts", &l.prompts);
  if (l.access_log.empty()) problem(t, "log.access_log: expected stdout, off or a file path");
}

void Loader::loadMcp(const toml::table& t) {
  checkKeys(t, "mcp");
  McpConfig& m = out_.config.mcp;
  readBool(t, "mcp", "enabled", &m.enabled);
  if (const toml::node* list = typed(t, "mcp", "allowed_origins")) {
    for (const auto& item : *list->as_array()) {
      if (!item.is_string()) {
        problem(item, "mcp.allowed_origins: expected origins like \"https://app.example\"");
        continue;
      }
      m.allowed_origins.push_back(item.as_string()->get());
    }
  }
  readString(t, "mcp", "default_model", &m.default_model);
  readDuration(t, "mcp", "session_ttl", &m.session_ttl);
  readInt(t, "mcp", "max_sessions", &m.max_sessions);
  if (m.max_sessions < 1) problem(t, "mcp.max_sessions: expected a positive integer");
}

void Loader::loadPrice(const toml::table& t, ModelConfig* model) {
  checkKeys(t, "model.price");
  ModelPrice price;
  if (const toml::node* per_image = typed(t, "model.price", "per_image")) {
    for (const auto& [quality, sizes] : *per_image->as_table()) {
      const toml::table* size_table = sizes.as_table();
      if (!size_table) {
        problem(sizes, "model '" + model->name + "': price.per_image." +
                           std::string(quality.str()) + " must be a table of size = USD");
        continue;
      }
      for (const auto& [size, usd] : *size_table) {
        auto value = usd.value<double>();
        if (!value || !std::isfinite(*value) || *value < 0) {
          problem(usd, "model '" + model->name + "': prices must be non-negative numbers");
          continue;
        }
        price.per_image[std::string(quality.str())][std::string(size.str())] = *value;
      }
    }
  }
  auto rate = [&](const char* key) -> std::optional<double> {
    auto value = t[key].value<double>();
    if (t[key] && (!value || !std::isfinite(*value) || *value < 0)) {
      problem(*t.get(key), "model '" + model->name + "': price." + key +
                               " must be a non-negative number (USD per million tokens)");
      return std::nullopt;
    }
    return value;
  };
  auto text = rate("text_input_per_million");
  auto image_in = rate("image_input_per_million");
  auto image_out = rate("image_output_per_million");
  if (text || image_in || image_out) {
    price.tokens = TokenRates{text.value_or(0), image_in.value_or(0), image_out.value_or(0)};
  }
  if (!price.empty()) model->price = std::move(price);
}

void Loader::loadModel(const toml::table& t) {
  checkKeys(t, "model");
  ModelConfig m;
  readString(t, "model", "name", &m.name);
  if (m.name.empty()) problem(t, "[[model]] needs a non-empty name");
  if (hasControlCharacter(m.name)) {
    problem(*t.get("name"),
            "model names are one line of text: no control characters (a line "
            "break would split the usage report's lines and the metrics')");
  }
  if (!m.name.empty() && out_.config.findModel(m.name)) {
    problem(t, "model '" + m.name + "' is declared twice");
  }
  readString(t, "model", "upstream", &m.upstream);
  if (!m.upstream.empty()) m.upstreams.push_back(m.upstream);
  if (const toml::node* list = typed(t, "model", "upstreams")) {
    for (const auto& item : *list->as_array()) {
      if (!item.is_string()) {
        problem(item, "model '" + m.name + "': upstreams must be upstream names (strings)");
      } else if (std::find(m.upstreams.begin(), m.upstreams.end(), item.as_string()->get()) ==
                 m.upstreams.end()) {
        m.upstreams.push_back(item.as_string()->get());
      }
    }
  }
  if (m.upstream.empty() && !m.upstreams.empty()) m.upstream = m.upstreams.front();
  readString(t, "model", "upstream_model", &m.upstream_model);
  if (m.upstream_model.empty()) m.upstream_model = m.name;
  if (const toml::node* list = typed(t, "model", "fallbacks")) {
    for (const auto& item : *list->as_array()) {
      if (!item.is_string()) {
        problem(item, "model '" + m.name + "': fallbacks must be model names (strings)");
        continue;
      }
      m.fallbacks.push_back(item.as_string()->get());
    }
  }
  readBool(t, "model", "cache", &m.cache);
  readString(t, "model", "default_response_format", &m.default_response_format);
  if (m.default_response_format != "b64_json" && m.default_response_format != "url") {
    problem(*t.get("default_response_format"),
            "model '" + m.name + "': default_response_format: expected b64_json or url, got '" +
                m.default_response_format + "'");
  }
  // "price = 0.04" is refused, not skipped: the model would be unpriced, its budgets unbounded.
  if (const toml::node* price = typed(t, "model", "price")) loadPrice(*price->as_table(), &m);
  out_.config.models.push_back(std::move(m));
  model_tables_.push_back(&t);
}

void Loader::validateModels(const toml::table& root) {
  const auto& models = out_.config.models;
  if (models.empty())
    problem(root, "no [[model]] is configured: clients would have nothing to call");
  for (size_t i = 0; i < models.size(); ++i) {
    const ModelConfig& m = models[i];
    const toml::table& at = *model_tables_[i];
    if (m.upstream.empty()) {
      problem(at, "model '" + m.name + "' needs an upstream");
    }
    if (!m.price) {
      problem(at,
              "model '" + m.name +
                  "' has no [model.price]: it is served, but its cost is reported as unknown "
                  "(not $0) and budgets cannot reserve for it",
              true);
    }
    for (const std::string& upstream : m.upstreams) {
      if (!out_.config.findUpstream(upstream)) {
        problem(at, "model '" + m.name + "': upstream '" + upstream + "' is not declared");
      }
    }
    for (const std::string& fallback : m.fallbacks) {
      if (fallback == m.name) {
        problem(at, "model '" + m.name + "' lists itself as a fallback");
      } else if (!out_.config.findModel(fallback)) {
        problem(at, "model '" + m.name + "': fallback '" + fallback + "' is not a declared model");
      }
    }
  }
}

// Every top-level key must be a known section of its shape: "[[auth]]" or "cache = 1" would
// otherwise be skipped as if absent (auth open, defaults used).
void Loader::checkSections(const toml::table& root) {
  struct Section {
    std::string_view name;
    bool listed;  // [[name]]: an array of tables
  };
  static constexpr Section kSections[] = {{"server", false}, {"auth", false}, {"cache", false},
                                          {"log", false},    {"mcp", false},  {"upstream", true},
                                          {"model", true}};
  for (const auto& [key, node] : root) {
    auto known = std::find_if(std::begin(kSections), std::end(kSections),
                              [&](const Section& s) { return s.name == key.str(); });
    if (known == std::end(kSections)) {
      problem(node, "unknown section '" + std::string(key.str()) + "'");
    } else if (!known->listed && !node.is_table()) {
      problem(node,
              std::string(known->name) + ": expected a table ([" + std::string(known->name) + "])");
    } else if (known->listed && !node.is_array_of_tables()) {
      problem(node, std::string(known->name) + ": expected tables ([[" + std::string(known->name) +
                        "]])");
    }
  }
}

LoadedConfig Loader::load(const toml::table& root) {
  out_.config.source_path = file_;
  checkSections(root);
  if (const toml::table* t = root["server"].as_table()) loadServer(*t);
  if (const toml::table* t = root["auth"].as_table()) loadAuth(*t);
  if (const toml::table* t = root["cache"].as_table()) loadCache(*t);
  if (const toml::table* t = root["log"].as_table()) loadLog(*t);
  if (const toml::table* t = root["mcp"].as_table()) loadMcp(*t);
  if (const toml::array* list = root["upstream"].as_array()) {
    for (const auto& item : *list) {
      if (item.is_table()) loadUpstream(*item.as_table());
    }
  }
  if (const toml::array* list = root["model"].as_array()) {
    for (const auto& item : *list) {
      if (item.is_table()) loadModel(*item.as_table());
    }
  }
  validateModels(root);
  scopePassthroughCache(root);
  const std::string& mcp_model = out_.config.mcp.default_model;
  if (!mcp_model.empty() && !out_.config.findModel(mcp_model)) {
    problem(*root["mcp"].as_table(),
            "mcp.default_model: '" + mcp_model + "' is not a declared model");
  }
  if (auto token = env_(out_.config.auth.admin_token_env)) out_.config.auth.admin_token = *token;
  if (!problems_.empty()) throw ConfigError(std::move(problems_));
  return std::move(out_);
}

LoadedConfig loadConfigFromString(std::string_view toml_text, const std::string& path,
                                  const EnvLookup& env, ProviderKeys keys) {
  toml::table root;
  try {
    root = toml::parse(toml_text, path);
  } catch (const toml::parse_error& error) {
    throw ConfigError({ConfigProblem{path, static_cast<int>(error.source().begin.line),
                                     static_cast<int>(error.source().begin.column),
                                     std::string(error.description())}});
  }
  return Loader(path, env, keys).load(root);
}

LoadedConfig loadConfig(const std::string& path, const EnvLookup& env, ProviderKeys keys) {
  std::string why;
  std::optional<std::string> text = readFileText(path, FileKind::kAny, &why);
  if (!text) {
    throw ConfigError({ConfigProblem{path, 0, 0, "cannot read the config file (" + why + ")"}});
  }
  return loadConfigFromString(*text, path, env, keys);
}

}  // namespace arkroute
