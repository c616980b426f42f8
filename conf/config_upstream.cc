// The [[upstream]] tables of the config: the base URL, the provider key (from a variable or a
// file, never shown in a problem), the protocol (openai or kling, and a Kling key's two halves),
// and shaping, retries and health.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "conf/config_loader.h"
#include "conf/file_text.h"

namespace arkroute {

using config_detail::Loader;

namespace {

// Why a base URL's text cannot be used as one (the URL itself is never repeated: it may hold a
// password), or nothing. The gateway appends "/images/generations" to its path, so a query or a
// fragment would end up in the middle of every request's target.
std::optional<std::string> unusableUrlPart(std::string_view url, std::string_view authority) {
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    return "has a space or a control character";
  }
  if (url.find_first_of("?#") != std::string_view::npos) {
    return "has a query or a fragment ('?', '#'): give the scheme, host and path only, e.g. "
           "https://api.openai.com/v1";
  }
  if (authority.find('@') != std::string_view::npos) {
    return "carries credentials (user:password@): the provider's key goes in api_key_env or "
           "api_key_file";
  }
  bool bracketed = authority.starts_with("[");
  auto host_char = [bracketed](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' ||
           (bracketed && (c == '[' || c == ']'));
  };
  if (!std::all_of(authority.begin(), authority.end(), host_char)) {
    return "has a character a host name cannot have";
  }
  return std::nullopt;
}

}  // namespace

void Loader::parseBaseUrl(const toml::node& at, UpstreamConfig* u) {
  std::string_view url = u->base_url;
  size_t scheme_end = url.find("://");
  std::string_view scheme = scheme_end == std::string_view::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    problem(at, "upstream '" + u->name + "': base_url must start with http:// or https://");
    return;
  }
  u->tls = scheme == "https";
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (auto why = unusableUrlPart(url, authority)) {
    problem(at, "upstream '" + u->name + "': base_url " + *why);
    return;
  }
  std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  u->base_path = path;
  u->port = u->tls ? 443 : 80;
  size_t colon = authority.rfind(':');
  bool bracketed = authority.starts_with("[");
  if (colon != std::string_view::npos && (!bracketed || authority[colon - 1] == ']')) {
    std::string_view digits = authority.substr(colon + 1);
    bool numeric =
        !digits.empty() && digits.size() <= 5 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(c); });
    long port = numeric ? std::strtol(std::string(digits).c_str(), nullptr, 10) : 0;
    if (port <= 0 || port > 65535) {
      problem(at, "upstream '" + u->name + "': base_url has an invalid port");
      return;
    }
    u->port = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (bracketed && authority.ends_with("]")) authority = authority.substr(1, authority.size() - 2);
  if (authority.empty()) problem(at, "upstream '" + u->name + "': base_url has no host");
  u->host = std::string(authority);
}

// The key file's path and whether it could be read go into problems; its contents never do.
void Loader::readKeyFile(const toml::node& at, UpstreamConfig* u) {
  std::string path = u->api_key_file;
  if (path.front() != '/') {
    auto directory = env_("CREDENTIALS_DIRECTORY");
    if (!directory || directory->empty()) {
      if (keys_ == ProviderKeys::kCheck) {
        problem(at,
                "upstream '" + u->name + "': api_key_file '" + path +
                    "' is a systemd credential, not read here: only the service is given "
                    "$CREDENTIALS_DIRECTORY (see LoadCredential= in arkroute.service)",
                true);
        return;
      }
      problem(at, "upstream '" + u->name + "': api_key_file '" + path +
                      "' is a credential name but $CREDENTIALS_DIRECTORY is not set "
                      "(use an absolute path outside systemd)");
      return;
    }
    if (path.find('/') != std::string::npos) {
      problem(at, "upstream '" + u->name +
                      "': api_key_file must be an absolute path or a bare "
                      "credential name");
      return;
    }
    path = *directory + "/" + path;
  }
  std::string why;
  std::optional<std::string> key = readFileText(path, FileKind::kRegular, &why);
  if (!key) {
    problem(at,
            "upstream '" + u->name + "': api_key_file '" + path + "' cannot be read (" + why + ")");
  } else {
    acceptKey(at, u, std::move(*key), "api_key_file '" + path + "'");
  }
}

// A key is sent as an HTTP header value: whitespace around it (a file's or a variable's final
// newline) is dropped, and anything but visible ASCII inside it is refused, since a line break
// would end the header and write the rest into the request. The message never shows the key.
void Loader::acceptKey(const toml::node& at, UpstreamConfig* u, std::string key,
                       const std::string& source) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!key.empty() && space(key.back())) key.pop_back();
  size_t start = 0;
  while (start < key.size() && space(key[start])) ++start;
  key.erase(0, start);
  bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (key.empty()) {
    problem(at, "upstream '" + u->name + "': the key in " + source + " is empty");
  } else if (!visible) {
    problem(at, "upstream '" + u->name + "': the key in " + source +
                    " contains a space, a line break or a non-ASCII character (it is sent as an "
                    "HTTP header); is it two keys, or a key with a comment?");
  } else {
    u->api_key = std::move(key);
  }
}

void Loader::loadUpstream(const toml::table& t) {
  checkKeys(t, "upstream");
  UpstreamConfig u;
  readString(t, "upstream", "name", &u.name);
  if (u.name.empty()) problem(t, "[[upstream]] needs a non-empty name");
  if (hasControlCharacter(u.name)) {
    problem(*t.get("name"), "upstream names are one line of text: no control characters");
  }
  if (out_.config.findUpstream(u.name) && !u.name.empty()) {
    problem(t, "upstream '" + u.name + "' is declared twice");
  }
  readString(t, "upstream", "base_url", &u.base_url);
  if (u.base_url.empty()) {
    problem(t, "upstream '" + u.name + "' needs a base_url");
  } else {
    parseBaseUrl(*t.get("base_url"), &u);
  }
  loadApi(t, &u);
  readString(t, "upstream", "api_key_env", &u.api_key_env);
  if (!u.api_key_env.empty() && keys_ != ProviderKeys::kSkip) {
    auto key = env_(u.api_key_env);
    if (!key || key->empty()) {
      problem(*t.get("api_key_env"), "upstream '" + u.name + "': environment variable " +
                                         u.api_key_env + " (api_key_env) is not set");
    } else {
      acceptKey(*t.get("api_key_env"), &u, *key, "$" + u.api_key_env);
    }
  }
  readString(t, "upstream", "api_key_file", &u.api_key_file);
  if (!u.api_key_file.empty()) {
    if (!u.api_key_env.empty()) {
      problem(*t.get("api_key_file"),
              "upstream '" + u.name + "': set api_key_env or api_key_file, not both");
    } else if (keys_ != ProviderKeys::kSkip) {
      readKeyFile(*t.get("api_key_file"), &u);
    }
  }
  readString(t, "upstream", "ca_file", &u.ca_file);
  std::string why;
  if (!u.ca_file.empty() && !readFileText(u.ca_file, FileKind::kRegular, &why)) {
    problem(*t.get("ca_file"),
            "upstream '" + u.name + "': ca_file '" + u.ca_file + "' cannot be read (" + why + ")");
  }
  readBool(t, "upstream", "tls_verify", &u.tls_verify);
  if (!u.tls_verify) {
    problem(*t.get("tls_verify"),
            "upstream '" + u.name + "': tls_verify = false, the provider is not authenticated",
            true);
  }
  readInt(t, "upstream", "max_connections", &u.max_connections);
  if (u.max_connections < 1 || u.max_connections > 10000) {
    problem(*t.get("max_connections"),
            "upstream '" + u.name + "': max_connections must be 1 to 10000");
  }
  readDuration(t, "upstream", "connect_timeout", &u.connect_timeout);
  readDuration(t, "upstream", "first_byte_timeout", &u.first_byte_timeout);
  readDuration(t, "upstream", "timeout", &u.timeout);
  readDuration(t, "upstream", "idle_timeout", &u.idle_timeout);
  loadShaping(t, &u);
  checkKlingKey(t, u);
  out_.config.upstreams.push_back(std::move(u));
}

void Loader::loadApi(const toml::table& t, UpstreamConfig* u) {
  std::string api = "openai";
  readString(t, "upstream", "api", &api);
  if (api == "kling") {
    u->api = UpstreamApi::kKling;
  } else if (api == "seedream") {
    u->api = UpstreamApi::kSeedream;
  } else if (api != "openai") {
    problem(*t.get("api"),
            "upstream '" + u->name + "': api must be \"openai\", \"seedream\" or \"kling\"");
  }
  readDuration(t, "upstream", "poll_interval", &u->poll_interval);
}

// Kling signs a token with a key pair: the key holds both halves. Its text is never shown.
void Loader::checkKlingKey(const toml::table& t, const UpstreamConfig& u) {
  if (u.api != UpstreamApi::kKling) return;
  if (u.api_key.empty()) {  // [auth] is loaded before the upstreams
    if (out_.config.auth.mode != AuthMode::kPassthrough && u.api_key_env.empty() &&
        u.api_key_file.empty()) {
      problem(t,
              "upstream '" + u.name +
                  "': api = \"kling\" without api_key_env or api_key_file: tasks are "
                  "submitted without a token and Kling refuses them (401)",
              true);
    }
    return;
  }
  size_t colon = u.api_key.find(':');
  if (colon == 0 || colon == std::string::npos || colon + 1 == u.api_key.size() ||
      u.api_key.find(':', colon + 1) != std::string::npos) {
    const toml::node* at = t.get("api_key_env") ? t.get("api_key_env") : t.get("api_key_file");
    problem(*at, "upstream '" + u.name +
                     "': a Kling key is the access key and the secret key joined by one ':' "
                     "(ACCESS_KEY:SECRET_KEY)");
  }
}

void Loader::loadShaping(const toml::table& t, UpstreamConfig* u) {
  auto non_negative = [&](std::string_view key, int* out, int max) {
    readInt(t, "upstream", key, out);
    if (*out < 0 || *out > max) {
      problem(*t.get(key), "upstream '" + u->name + "': " + std::string(key) + " must be 0 to " +
                               std::to_string(max));
    }
  };
  non_negative("max_concurrency", &u->max_concurrency, 100000);
  non_negative("rpm", &u->rpm, 10000000);
  non_negative("max_queue", &u->max_queue, 1000000);
  non_negative("max_retries", &u->max_retries, 10);
  non_negative("eject_after", &u->eject_after, 1000);
  readInt(t, "upstream", "weight", &u->weight);
  if (u->weight < 1 || u->weight > 1000) {
    problem(*t.get("weight"), "upstream '" + u->name + "': weight must be 1 to 1000");
  }
  readDuration(t, "upstream", "queue_timeout", &u->queue_timeout);
  readDuration(t, "upstream", "retry_base", &u->retry_base);
  readDuration(t, "upstream", "retry_max_wait", &u->retry_max_wait);
  readDuration(t, "upstream", "eject_for", &u->eject_for);
}

}  // namespace arkroute
