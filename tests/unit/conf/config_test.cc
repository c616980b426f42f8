// Unit tests for the config loader: value formats, a full config, every validation rule with its
// line, all problems reported at once, secrets never echoed, the shipped config and the docs.
#include "conf/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/schema.h"

namespace arkroute {
namespace {

using namespace std::chrono_literals;

std::filesystem::path repoFile(const char* relative);

EnvLookup envWith(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<ConfigProblem> problemsOf(const std::string& toml, EnvLookup env = envWith({})) {
  try {
    loadConfigFromString(toml, "test.toml", env);
  } catch (const ConfigError& error) {
    return error.problems();
  }
  return {};
}

const char kMinimal[] = R"(
[[upstream]]
name = "sim"
base_url = "http://127.0.0.1:9090/v1"
[[model]]
name = "gpt-image-1"
upstream = "sim"
)";

TEST(ConfigValues, DurationsAndSizesParse) {
  EXPECT_EQ(parseDuration("250ms"), Millis(250));
  EXPECT_EQ(parseDuration("600s"), Millis(600'000));
  EXPECT_EQ(parseDuration("5m"), Millis(300'000));
  EXPECT_EQ(parseDuration("2h"), Millis(7'200'000));
  EXPECT_EQ(parseDuration("30d"), Millis(2'592'000'000));
  EXPECT_EQ(parseDuration("12"), Millis(12'000));
  EXPECT_FALSE(parseDuration("ten seconds"));
  EXPECT_FALSE(parseDuration("5 parsecs"));
  EXPECT_FALSE(parseDuration(""));
  EXPECT_EQ(parseByteSize("20GiB"), 20ull << 30);
  EXPECT_EQ(parseByteSize("512KiB"), 512ull << 10);
  EXPECT_EQ(parseByteSize("10MB"), 10'000'000ull);
  EXPECT_EQ(parseByteSize("1024"), 1024ull);
  EXPECT_FALSE(parseByteSize("big"));
  EXPECT_FALSE(parseByteSize("5XB"));
  EXPECT_EQ(parseByteSize("16777215TiB"), 16777215ull << 40);
  EXPECT_FALSE(parseByteSize("16777216TiB")) << "2^64 bytes wrapped around to 0";
  EXPECT_FALSE(parseByteSize("18446744073709551616"));
}

TEST(ConfigLoader, AFullConfigFillsTheStruct) {
  std::string toml = R"(
[server]
listen = "[::1]:9000"
workers = 3
max_body_bytes = "1MiB"
drain_timeout = "5s"
public_url = "https://gw.example.com"
[auth]
mode = "passthrough"
admin_token_env = "ADMIN"
[cache]
enabled = false
ttl = "2h"
max_bytes = "1GiB"
max_pending_bytes = "64MiB"
memory_bytes = "32MiB"
scope = "per_key"
[[upstream]]
name = "openai"
base_url = "https://api.openai.com:8443/v1/"
api_key_env = "OPENAI_API_KEY"
max_connections = 8
timeout = "90s"
[[model]]
name = "gpt-image-1"
upstream = "openai"
fallbacks = ["mini"]
[model.price.per_image]
high = { "1024x1024" = 0.084, "*" = 0.167 }
[[model]]
name = "mini"
upstream = "openai"
upstream_model = "gpt-image-1-mini"
cache = false
)";
  LoadedConfig loaded = loadConfigFromString(
      toml, "full.toml", envWith({{"OPENAI_API_KEY", "sk-1"}, {"ADMIN", "tok"}}));
  const Config& c = loaded.config;
  EXPECT_EQ(c.server.listen_host, "::1");
  EXPECT_EQ(c.server.listen_port, 9000);
  EXPECT_EQ(c.server.workers, 3);
  EXPECT_EQ(c.server.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.server.drain_timeout, 5s);
  EXPECT_EQ(c.auth.mode, AuthMode::kPassthrough);
  EXPECT_EQ(c.auth.admin_token, "tok");
  EXPECT_FALSE(c.cache.enabled);
  EXPECT_EQ(c.cache.ttl, 2h);
  EXPECT_EQ(c.cache.scope, CacheScope::kPerKey);
  EXPECT_EQ(c.cache.max_pending_bytes, 64u << 20);
  EXPECT_EQ(c.cache.memory_bytes, 32u << 20);
  const UpstreamConfig& u = c.upstreams.at(0);
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "api.openai.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.base_path, "/v1");
  EXPECT_EQ(u.api_key, "sk-1");
  EXPECT_EQ(u.max_connections, 8);
  EXPECT_EQ(u.timeout, 90s);
  EXPECT_EQ(c.findModel("gpt-image-1")->upstream_model, "gpt-image-1");
  EXPECT_EQ(c.findModel("gpt-image-1")->fallbacks, std::vector<std::string>{"mini"});
  EXPECT_DOUBLE_EQ(c.findModel("gpt-image-1")->price->per_image.at("high").at("*"), 0.167);
  EXPECT_EQ(c.findModel("mini")->upstream_model, "gpt-image-1-mini");
  EXPECT_FALSE(c.findModel("mini")->cache);
  EXPECT_FALSE(c.findModel("mini")->price.has_value());
  EXPECT_EQ(c.findUpstream("nope"), nullptr);
}

TEST(ConfigLoader, EveryProblemIsReportedAtOnceWithItsLine) {
  std::string toml = R"([server]
lisen = "x"
workers = "two"
[cache]
ttl = "forever"
scope = "everyone"
[[upstream]]
name = "u"
base_url = "ftp://host"
max_connections = 0
[[model]]
name = "m"
upstream = "missing"
fallbacks = ["m", "ghost"]
)";
  auto problems = problemsOf(toml);
  std::vector<std::string> text;
  for (const auto& p : problems) text.push_back(p.toString());
  auto has = [&](const std::string& needle) {
    for (const auto& t : text) {
      if (t.find(needle) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("test.toml:2:9: unknown key 'lisen' in [server] (did you mean 'listen'?)"));
  EXPECT_TRUE(has("test.toml:3:11: server.workers: expected integer, got string"));
  EXPECT_TRUE(has("test.toml:5:7: cache.ttl: expected a positive duration"));
  EXPECT_TRUE(has("test.toml:6:9: cache.scope: expected shared or per_key"));
  EXPECT_TRUE(has("test.toml:9:12: upstream 'u': base_url must start with http:// or https://"));
  EXPECT_TRUE(has("upstream 'u': max_connections must be 1 to 10000"));
  EXPECT_TRUE(has("model 'm': upstream 'missing' is not declared"));
  EXPECT_TRUE(has("model 'm' lists itself as a fallback"));
  EXPECT_TRUE(has("model 'm': fallback 'ghost' is not a declared model"));
  EXPECT_EQ(problems.size(), 9u);
}

// What would break every request, or show a secret, is refused where it is written, without
// repeating the URL (it may hold a password).
TEST(ConfigLoader, ABaseUrlThatCannotBeOneIsRefused) {
  auto problems = [](const std::string& url) {
    std::string toml = "[[upstream]]\nname = \"u\"\nbase_url = \"" + url +
                       "\"\n[[model]]\nname = \"m\"\nupstream = \"u\"\n";
    std::vector<std::string> texts;
    for (const auto& problem : problemsOf(toml)) texts.push_back(problem.toString());
    return texts;
  };
  for (const auto& [url, why] : std::vector<std::pair<std::string, std::string>>{
           {"http://127.0.0.1:9/v1?api-version=2024", "has a query or a fragment"},
           {"https://api.example/v1#x", "has a query or a fragment"},
           {"http://user:s3cret@127.0.0.1:9/v1", "carries credentials"},
           {"http://exa mple.com/v1", "has a space or a control character"},
           {"http://exa\\tmple.com/v1", "has a space or a control character"},
           {"http://ex%61mple.com/v1", "has a character a host name cannot have"},
           {"http://127.0.0.1:90x/v1", "has an invalid port"}}) {
    auto texts = problems(url);
    ASSERT_EQ(texts.size(), 1u) << url;
    EXPECT_EQ(texts[0].rfind("test.toml:3:12: upstream 'u': base_url " + why, 0), 0u) << texts[0];
    EXPECT_EQ(texts[0].find("s3cret"), std::string::npos) << texts[0];
  }
  for (const char* good : {"http://127.0.0.1:9/v1", "https://api.openai.com/v1/",
                           "http://[::1]:8080/v1", "http://sim_upstream:8080"}) {
    EXPECT_TRUE(problems(good).empty()) << good;
  }
}

// A size that does not fit in 64 bits is refused, never wrapped to a small one; and a cache of
// 0 bytes, which stores nothing (and so fails every url request), says how to turn it off.
TEST(ConfigLoader, CacheSizesMustFitAndBeMoreThanZero) {
  auto problems = problemsOf(std::string(kMinimal) + "[cache]\nmax_bytes = \"16777216TiB\"\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("cache.max_bytes: expected a size"), std::string::npos);
  problems = problemsOf(std::string(kMinimal) + "[cache]\nmax_bytes = 0\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message,
            "cache.max_bytes must be more than 0 (to turn the cache off: enabled = false)");
  problems = problemsOf(
      "[[upstream]]\nname = \"u\\tv\"\nbase_url = \"http://127.0.0.1:9\"\n"
      "[[model]]\nname = \"two\\nlines\"\nupstream = \"u\\tv\"\n");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].message.find("upstream names are one line of text"), std::string::npos);
  EXPECT_NE(problems[1].message.find("model names are one line of text"), std::string::npos);
  problems = problemsOf("[server]\nlisten = \"\"\n" + std::string(kMinimal));
  ASSERT_EQ(problems.size(), 1u) << "an empty listen is not the default one";
  EXPECT_NE(problems[0].message.find("server.listen: expected IP:PORT"), std::string::npos);
}

TEST(ConfigLoader, StructuralRules) {
  EXPECT_FALSE(problemsOf("[server]\nlisten = \"127.0.0.1\"\n").empty());
  EXPECT_NE(problemsOf("").at(0).message.find("no [[model]]"), std::string::npos);
  std::string duplicate =
      std::string(kMinimal) + "[[model]]\nname = \"gpt-image-1\"\nupstream = \"sim\"\n";
  EXPECT_NE(problemsOf(duplicate).at(0).message.find("declared twice"), std::string::npos);
  EXPECT_NE(problemsOf("[bogus]\n").at(0).message.find("unknown section 'bogus'"),
            std::string::npos);
  EXPECT_NE(problemsOf("[server\n").at(0).toString().find("test.toml:1:"), std::string::npos);
  EXPECT_TRUE(problemsOf(kMinimal).empty());
}

TEST(ConfigLoader, PendingCacheWritesNeedRoomForAnImage) {
  EXPECT_EQ(loadConfigFromString(kMinimal, "t.toml", envWith({})).config.cache.max_pending_bytes,
            256u << 20);
  auto problems = problemsOf(std::string(kMinimal) + "[cache]\nmax_pending_bytes = \"64KiB\"\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("cache.max_pending_bytes must be at least 1MiB"),
            std::string::npos);
}

// TOML has nan and inf: a price that is not a finite, non-negative number would make every cost
// (and the ledger's totals) meaningless.
TEST(ConfigLoader, PricesMustBeFiniteNonNegativeNumbers) {
  std::string priced = std::string(kMinimal) +
                       "[model.price]\ntext_input_per_million = inf\n"
                       "image_output_per_million = -1.0\n"
                       "[model.price.per_image]\nhigh = { \"*\" = nan }\n";
  auto problems = problemsOf(priced);
  ASSERT_EQ(problems.size(), 3u);
  std::vector<std::string> texts;
  for (const auto& problem : problems) texts.push_back(problem.message);
  std::sort(texts.begin(), texts.end());
  EXPECT_NE(texts[0].find("price.image_output_per_million must be a non-negative number"),
            std::string::npos)
      << texts[0];
  EXPECT_NE(texts[1].find("price.text_input_per_million must be a non-negative number"),
            std::string::npos)
      << texts[1];
  EXPECT_NE(texts[2].find("prices must be non-negative numbers"), std::string::npos) << texts[2];
}

TEST(ConfigLoader, MissingKeyVariableIsAnErrorThatNeverShowsAnySecret) {
  std::string toml = std::string(kMinimal);
  toml.insert(toml.find("[[model]]"), "api_key_env = \"SIM_KEY\"\n");
  auto problems = problemsOf(toml, envWith({{"OTHER", "sk-secret-value"}}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("environment variable SIM_KEY (api_key_env) is not set"),
            std::string::npos);
  LoadedConfig ok = loadConfigFromString(toml, "t", envWith({{"SIM_KEY", "sk-secret-value"}}));
  EXPECT_EQ(ok.config.upstreams[0].api_key, "sk-secret-value");
  EXPECT_EQ(describeConfig(ok.config).find("sk-secret-value"), std::string::npos);
}

TEST(ConfigLoader, KeysAreTrimmedAndRefusedWhenTheyCouldBreakTheHeader) {
  std::string toml = std::string(kMinimal);
  toml.insert(toml.find("[[model]]"), "api_key_env = \"SIM_KEY\"\n");
  LoadedConfig trimmed = loadConfigFromString(toml, "t", envWith({{"SIM_KEY", " sk-abc\r\n"}}));
  EXPECT_EQ(trimmed.config.upstreams[0].api_key, "sk-abc");
  for (const char* bad :
       {"sk-one\nsk-two", "sk-abc\r\nX-Injected: 1", "sk abc", "sk-\x01", "sk-\xc3\xa9", "  \n"}) {
    auto problems = problemsOf(toml, envWith({{"SIM_KEY", bad}}));
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_NE(problems[0].message.find("$SIM_KEY"), std::string::npos) << problems[0].message;
    EXPECT_EQ(problems[0].message.find("sk-"), std::string::npos) << problems[0].message;
  }
}

TEST(ConfigLoader, KeyFileIsReadFromAPathOrTheCredentialsDirectory) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "arkroute-creds-test";
  std::filesystem::create_directories(dir);
  std::ofstream((dir / "openai").string()) << "sk-from-file\n";
  std::string by_name = std::string(kMinimal);
  by_name.insert(by_name.find("[[model]]"), "api_key_file = \"openai\"\n");
  LoadedConfig loaded =
      loadConfigFromString(by_name, "t", envWith({{"CREDENTIALS_DIRECTORY", dir.string()}}));
  EXPECT_EQ(loaded.config.upstreams[0].api_key, "sk-from-file");
  EXPECT_NE(describeConfig(loaded.config).find("from file openai"), std::string::npos);
  EXPECT_EQ(describeConfig(loaded.config).find("sk-from-file"), std::string::npos);

  std::string by_path = std::string(kMinimal);
  by_path.insert(by_path.find("[[model]]"),
                 "api_key_file = \"" + (dir / "openai").string() + "\"\n");
  EXPECT_EQ(loadConfigFromString(by_path, "t", envWith({})).config.upstreams[0].api_key,
            "sk-from-file");

  auto outside = problemsOf(by_name);  // a credential name without $CREDENTIALS_DIRECTORY
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_NE(outside[0].message.find("CREDENTIALS_DIRECTORY"), std::string::npos);
  auto missing = problemsOf(by_name, envWith({{"CREDENTIALS_DIRECTORY", "/nonexistent"}}));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing[0].message.find("cannot be read"), std::string::npos);
  std::string both = by_name;
  both.insert(both.find("[[model]]"), "api_key_env = \"SIM_KEY\"\n");
  auto conflicting = problemsOf(both, envWith({{"SIM_KEY", "k"}}));
  ASSERT_EQ(conflicting.size(), 1u);
  EXPECT_NE(conflicting[0].message.find("not both"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// A directory or a FIFO where a file should be is a problem named with its reason: never an
// exception out of the loader, never a reload stuck on a FIFO without a writer.
TEST(ConfigLoader, WhatIsNotAFileIsAProblemWithItsReason) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "arkroute-not-files";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "keydir");
  ASSERT_EQ(::mkfifo((dir / "keyfifo").c_str(), 0600), 0);
  for (const char* name : {"keydir", "keyfifo"}) {
    std::string config = std::string(kMinimal);
    config.insert(config.find("[[model]]"), "api_key_file = \"" + (dir / name).string() + "\"\n");
    auto problems = problemsOf(config);
    ASSERT_EQ(problems.size(), 1u) << name;
    EXPECT_NE(problems[0].message.find(name == std::string("keydir") ? "is a directory"
                                                                     : "is not a regular file"),
              std::string::npos)
        << problems[0].message;
  }
  try {
    loadConfig(dir.string(), envWith({}));
    ADD_FAILURE() << "a directory loaded as a config";
  } catch (const ConfigError& error) {
    ASSERT_EQ(error.problems().size(), 1u);
    EXPECT_NE(error.problems()[0].message.find("is a directory"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(ShippedConfig, ProductionConfigIsValidWithItsCredential) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "arkroute-prod-creds";
  std::filesystem::create_directories(dir);
  std::ofstream((dir / "openai").string()) << "sk-test";
  LoadedConfig loaded = loadConfig(repoFile("conf/arkroute.production.toml").string(),
                                   envWith({{"CREDENTIALS_DIRECTORY", dir.string()}}));
  std::filesystem::remove_all(dir);
  EXPECT_EQ(loaded.config.server.listen_host, "127.0.0.1");
  EXPECT_EQ(loaded.config.server.listen_port, 8080);
  EXPECT_TRUE(loaded.config.cache.path.starts_with("/var/lib/arkroute/"));
  EXPECT_EQ(loaded.config.findUpstream("openai")->api_key, "sk-test");
  for (const ModelConfig& model : loaded.config.models) {
    EXPECT_TRUE(model.price.has_value()) << model.name;
  }
  EXPECT_DOUBLE_EQ(
      loaded.config.findModel("gpt-image-1")->price->per_image.at("medium").at("1024x1024"), 0.042);
}

TEST(ConfigLoader, KeysModeWithFreeCreditsAndShapingSettings) {
  std::string toml = std::string("[auth]\nmode = \"keys\"\ndefault_budget_usd = 2.5\n") + kMinimal;
  toml.insert(toml.find("[[model]]"),
              "max_concurrency = 4\nrpm = 120\nmax_queue = 10\nqueue_timeout = \"5s\"\n"
              "max_retries = 3\nretry_base = \"100ms\"\neject_after = 2\n");
  LoadedConfig loaded = loadConfigFromString(toml, "t", envWith({}));
  EXPECT_EQ(loaded.config.auth.mode, AuthMode::kKeys);
  EXPECT_DOUBLE_EQ(loaded.config.auth.default_budget_usd, 2.5);
  const UpstreamConfig& upstream = loaded.config.upstreams.at(0);
  EXPECT_EQ(upstream.max_concurrency, 4);
  EXPECT_EQ(upstream.rpm, 120);
  EXPECT_EQ(upstream.max_queue, 10);
  EXPECT_EQ(upstream.queue_timeout.count(), 5000);
  EXPECT_EQ(upstream.max_retries, 3);
  EXPECT_EQ(upstream.retry_base.count(), 100);
  EXPECT_EQ(upstream.eject_after, 2);
}

TEST(ConfigLoader, NegativeBudgetAndBadShapingAreReported) {
  std::string toml = std::string("[auth]\ndefault_budget_usd = -1\n") + kMinimal;
  toml.insert(toml.find("[[model]]"), "max_retries = 99\nweight = 0\n");
  auto problems = problemsOf(toml);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].message.find("default_budget_usd"), std::string::npos);
}

TEST(ConfigLoader, DefaultResponseFormatIsB64JsonOrUrl) {
  LoadedConfig plain = loadConfigFromString(kMinimal, "t", envWith({}));
  EXPECT_EQ(plain.config.models.at(0).default_response_format, "b64_json");
  LoadedConfig urls = loadConfigFromString(
      std::string(kMinimal) + "default_response_format = \"url\"\n", "t", envWith({}));
  EXPECT_EQ(urls.config.models.at(0).default_response_format, "url");
  EXPECT_NE(describeConfig(urls.config).find("gpt-image-1 → sim, answers with URLs by default"),
            std::string::npos)
      << describeConfig(urls.config);
  EXPECT_EQ(describeConfig(plain.config).find("URLs by default"), std::string::npos);
  auto problems = problemsOf(std::string(kMinimal) + "default_response_format = \"png\"\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].toString().find("test.toml:8:"), std::string::npos)
      << problems[0].toString();
  EXPECT_NE(problems[0].message.find("expected b64_json or url, got 'png'"), std::string::npos);
}

TEST(ConfigLoader, TlsVerifyOffIsAWarning) {
  std::string toml = std::string(kMinimal);
  toml.insert(toml.find("[[model]]"), "tls_verify = false\n");
  LoadedConfig loaded = loadConfigFromString(toml, "t", envWith({}));
  ASSERT_EQ(loaded.warnings.size(), 2u);
  EXPECT_NE(loaded.warnings[0].message.find("tls_verify = false"), std::string::npos);
  EXPECT_NE(loaded.warnings[1].message.find("has no [model.price]"), std::string::npos)
      << "an unpriced model is a warning: its cost is unknown, never silently $0";
}

// The production config reads its keys from systemd credentials and /etc/default/arkroute, which
// only the service is given: the key and usage commands never need them, `check` cannot read a
// credential from a shell (a warning), and serve needs every one.
TEST(ConfigLoader, OnlyServeNeedsEveryProviderKey) {
  std::string toml = R"(
[[upstream]]
name = "credential"
base_url = "https://api.openai.com/v1"
api_key_file = "openai"
[[upstream]]
name = "environment"
base_url = "https://api.openai.com/v1"
api_key_env = "UNSET_KEY_VARIABLE"
[[model]]
name = "gpt-image-1"
upstream = "credential"
)";
  auto problems = [&](ProviderKeys keys) {
    try {
      loadConfigFromString(toml, "t", envWith({}), keys);
      return std::vector<ConfigProblem>{};
    } catch (const ConfigError& error) {
      return error.problems();
    }
  };
  EXPECT_EQ(problems(ProviderKeys::kRead).size(), 2u);
  auto checked = problems(ProviderKeys::kCheck);
  ASSERT_EQ(checked.size(), 1u);
  EXPECT_NE(checked[0].message.find("UNSET_KEY_VARIABLE"), std::string::npos);
  EXPECT_TRUE(problems(ProviderKeys::kSkip).empty());
  toml.replace(toml.find("api_key_env"), std::string("api_key_env").size(), "# api_key_env");
  LoadedConfig check = loadConfigFromString(toml, "t", envWith({}), ProviderKeys::kCheck);
  bool said = std::any_of(check.warnings.begin(), check.warnings.end(), [](const auto& w) {
    return w.message.find("'openai' is a systemd credential, not read here") != std::string::npos;
  });
  EXPECT_TRUE(said);
  EXPECT_TRUE(loadConfigFromString(toml, "t", envWith({}), ProviderKeys::kSkip)
                  .config.upstreams[0]
                  .api_key.empty());
}

// URL answers must point where the gateway listens: public_url follows listen, and --listen,
// unless the file sets it (a TLS proxy in front keeps its own address).
TEST(ConfigLoader, PublicUrlFollowsTheListenAddressUnlessGiven) {
  auto server = [](const std::string& lines) {
    return loadConfigFromString("[server]\n" + lines + kMinimal, "t", envWith({})).config.server;
  };
  EXPECT_EQ(server("listen = \"127.0.0.1:9000\"\n").public_url, "http://127.0.0.1:9000");
  EXPECT_EQ(server("listen = \"0.0.0.0:9000\"\n").public_url, "http://127.0.0.1:9000");
  EXPECT_EQ(server("listen = \"[::]:9000\"\n").public_url, "http://[::1]:9000");
  EXPECT_EQ(server("listen = \"[fd00::5]:80\"\n").public_url, "http://[fd00::5]:80");
  ServerConfig derived = server("listen = \"127.0.0.1:9000\"\n");
  setListen(&derived, "10.0.0.2", 7000);  // what --listen does
  EXPECT_EQ(derived.public_url, "http://10.0.0.2:7000");
  ServerConfig given = server("listen = \"127.0.0.1:9000\"\npublic_url = \"https://gw.test\"\n");
  EXPECT_EQ(given.public_url, "https://gw.test");
  setListen(&given, "10.0.0.2", 7000);
  EXPECT_EQ(given.public_url, "https://gw.test");
  EXPECT_EQ(given.listen_port, 7000);
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":80", "1.2.3.4:8a", "1.2.3.4:65536",
                          "1.2.3.4:-1", "[]:80", "localhost:8080", "::1:8080", ""}) {
    EXPECT_FALSE(parseListen(bad)) << bad;
  }
}

// Passthrough callers bring their own provider keys: a shared cache would serve one key's paid
// images to any other, so the scope is per_key unless the file says shared (then a warning).
TEST(ConfigLoader, PassthroughKeepsEachKeysCacheUnlessSharedIsWritten) {
  auto load = [](const std::string& sections) {
    return loadConfigFromString(sections + kMinimal, "t", envWith({}));
  };
  EXPECT_EQ(load("").config.cache.scope, CacheScope::kShared);
  LoadedConfig passthrough = load("[auth]\nmode = \"passthrough\"\n");
  EXPECT_EQ(passthrough.config.cache.scope, CacheScope::kPerKey);
  LoadedConfig shared = load("[auth]\nmode = \"passthrough\"\n[cache]\nscope = \"shared\"\n");
  EXPECT_EQ(shared.config.cache.scope, CacheScope::kShared);
  bool warned = std::any_of(shared.warnings.begin(), shared.warnings.end(), [](const auto& w) {
    return w.message.find("served to any caller, whatever key it sends") != std::string::npos &&
           w.line == 4;
  });
  EXPECT_TRUE(warned);
  for (const auto& warning : passthrough.warnings) {
    EXPECT_EQ(warning.message.find("scope"), std::string::npos) << warning.message;
  }
}

std::filesystem::path repoFile(const char* relative) {
  return std::filesystem::path(__FILE__).parent_path() / "../../.." / relative;
}

TEST(ShippedConfig, IsValidAndPricesEveryModel) {
  LoadedConfig loaded = loadConfig(repoFile("conf/arkroute.toml").string(), envWith({}));
  EXPECT_GE(loaded.config.models.size(), 6u);
  for (const ModelConfig& model : loaded.config.models) {
    EXPECT_TRUE(model.price.has_value()) << model.name;
  }
  EXPECT_DOUBLE_EQ(
      loaded.config.findModel("gpt-image-1")->price->per_image.at("medium").at("1024x1024"), 0.042);
}

TEST(ShippedConfig, DocsMatchTheSchemaTable) {
  std::ifstream in(repoFile("docs/CONFIG.md"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), renderConfigReference())
      << "regenerate with: build/proxy/arkroute config-reference > docs/CONFIG.md";
}

// Every problem's message, joined, for checks that look for several.
std::string allMessages(const std::vector<ConfigProblem>& problems) {
  std::string text;
  for (const auto& problem : problems) text += problem.message + "\n";
  return text;
}

TEST(ConfigLoader, NegativeOrTooLargeIntegersAreRefusedNotWrapped) {
  std::string toml =
      "[server]\nmax_body_bytes = -1\n[cache]\nmax_bytes = -1\n" + std::string(kMinimal);
  toml.insert(toml.find("[[model]]"), "max_concurrency = 4294967296\n");
  auto problems = problemsOf(toml);
  std::string text = allMessages(problems);
  ASSERT_EQ(problems.size(), 3u) << text;
  EXPECT_NE(text.find("server.max_body_bytes: expected a size"), std::string::npos) << text;
  EXPECT_NE(text.find("cache.max_bytes: expected a size"), std::string::npos) << text;
  EXPECT_NE(text.find("upstream.max_concurrency: 4294967296 is out of range"), std::string::npos)
      << text;
  EXPECT_FALSE(problemsOf("[auth]\ndefault_budget_usd = nan\n" + std::string(kMinimal)).empty());
}

TEST(ConfigLoader, ASectionOrPriceOfTheWrongShapeIsAnErrorNotIgnored) {
  auto auth_array = problemsOf("[[auth]]\nmode = \"keys\"\n" + std::string(kMinimal));
  ASSERT_EQ(auth_array.size(), 1u) << allMessages(auth_array);
  EXPECT_NE(auth_array[0].message.find("auth: expected a table ([auth])"), std::string::npos);
  EXPECT_EQ(auth_array[0].line, 1);
  EXPECT_NE(allMessages(problemsOf("model = 3\n")).find("model: expected tables ([[model]])"),
            std::string::npos);
  auto price_number = problemsOf(std::string(kMinimal) + "price = 0.04\n");
  ASSERT_EQ(price_number.size(), 1u) << allMessages(price_number);
  EXPECT_NE(price_number[0].message.find("model.price: expected table, got floating-point"),
            std::string::npos);
  auto per_image_number = problemsOf(std::string(kMinimal) + "[model.price]\nper_image = 0.04\n");
  ASSERT_EQ(per_image_number.size(), 1u) << allMessages(per_image_number);
  EXPECT_NE(
      per_image_number[0].message.find("model.price.per_image: expected table, got floating-point"),
      std::string::npos);
}

}  // namespace
}  // namespace arkroute
