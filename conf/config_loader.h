// The config loader's class, private to conf/: config_loader.cc reads values and most tables,
// config_upstream.cc the [[upstream]] tables. Problems are collected with their file:line.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.h"

namespace arkroute::config_detail {

// A name with a byte below 0x20 (a line break, a tab) or DEL, which would break the lines it is
// printed on (the usage report, the metrics, the access log).
inline bool hasControlCharacter(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

class Loader {
 public:
  Loader(std::string file, const EnvLookup& env, ProviderKeys keys)
      : file_(std::move(file)), env_(env), keys_(keys) {}
  LoadedConfig load(const toml::table& root);

 private:
  void problem(const toml::node& at, std::string message, bool warning = false);
  void checkKeys(const toml::table& table, std::string_view section);
  const toml::node* typed(const toml::table& t, std::string_view section, std::string_view key,
                          bool ok_if_string_or_int = false);
  void readString(const toml::table& t, std::string_view section, std::string_view key,
                  std::string* out);
  template <typename Int>
  void readInt(const toml::table& t, std::string_view section, std::string_view key, Int* out);
  void readNumber(const toml::table& t, std::string_view section, std::string_view key,
                  double* out);
  void readBool(const toml::table& t, std::string_view section, std::string_view key, bool* out);
  void readDuration(const toml::table& t, std::string_view section, std::string_view key,
                    Millis* out);
  void readSize(const toml::table& t, std::string_view section, std::string_view key,
                uint64_t* out);
  void checkSections(const toml::table& root);
  void loadServer(const toml::table& t);
  void loadApi(const toml::table& t, UpstreamConfig* u);
  void checkKlingKey(const toml::table& t, const UpstreamConfig& u);
  void loadAuth(const toml::table& t);
  void loadCache(const toml::table& t);
  void scopePassthroughCache(const toml::table& root);
  void loadShaping(const toml::table& t, UpstreamConfig* u);
  void loadLog(const toml::table& t);
  void loadMcp(const toml::table& t);
  void loadUpstream(const toml::table& t);
  void loadModel(const toml::table& t);
  void loadPrice(const toml::table& t, ModelConfig* model);
  void parseBaseUrl(const toml::node& at, UpstreamConfig* upstream);
  void readKeyFile(const toml::node& at, UpstreamConfig* upstream);
  void acceptKey(const toml::node& at, UpstreamConfig* upstream, std::string key,
                 const std::string& source);
  void validateModels(const toml::table& root);

  std::string file_;
  const EnvLookup& env_;
  ProviderKeys keys_;
  LoadedConfig out_;
  std::vector<ConfigProblem> problems_;
  std::vector<const toml::table*> model_tables_;
};

template <typename Int>
inline void Loader::readInt(const toml::table& t, std::string_view section, std::string_view key,
                            Int* out) {
  const toml::node* n = typed(t, section, key);
  if (!n) return;
  int64_t value = n->as_integer()->get();
  if (!std::in_range<Int>(value)) {  // narrowed, 4294967296 would read as 0 ("no limit")
    problem(*n, std::string(section) + "." + std::string(key) + ": " + std::to_string(value) +
                    " is out of range");
    return;
  }
  *out = static_cast<Int>(value);
}

}  // namespace arkroute::config_detail
