// Unit tests for a Kling upstream's settings: api, poll_interval and the ACCESS:SECRET key.
#include <gtest/gtest.h>

#include <algorithm>

#include "conf/config.h"

namespace arkroute {
namespace {

using namespace std::chrono_literals;

const char kKling[] = R"(
[[upstream]]
name = "kling"
base_url = "https://api-singapore.klingai.com"
api = "kling"
poll_interval = "500ms"
api_key_env = "KLING_KEYS"
[[model]]
name = "kling-v3"
upstream = "kling"
)";

EnvLookup klingKeys(std::optional<std::string> value) {
  return [value](const std::string& name) -> std::optional<std::string> {
    return name == "KLING_KEYS" ? value : std::nullopt;
  };
}

std::vector<ConfigProblem> klingProblems(const std::string& toml, EnvLookup env) {
  try {
    loadConfigFromString(toml, "test.toml", env);
  } catch (const ConfigError& error) {
    return error.problems();
  }
  return {};
}

TEST(KlingConfig, ApiPollIntervalAndKeyPair) {
  LoadedConfig loaded = loadConfigFromString(kKling, "t", klingKeys("ak-1:sk-2"));
  const UpstreamConfig& u = loaded.config.upstreams[0];
  EXPECT_EQ(u.api, UpstreamApi::kKling);
  EXPECT_EQ(u.poll_interval, 500ms);
  EXPECT_EQ(u.api_key, "ak-1:sk-2");
  EXPECT_EQ(u.base_path, "");
  std::string summary = describeConfig(loaded.config);
  EXPECT_NE(summary.find("Kling tasks polled every 500ms"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("sk-2"), std::string::npos);
}

TEST(KlingConfig, OpenAIIsTheDefaultApi) {
  std::string toml = kKling;
  toml.erase(toml.find("api = \"kling\"\n"), 14);
  LoadedConfig loaded = loadConfigFromString(toml, "t", klingKeys("anything"));
  EXPECT_EQ(loaded.config.upstreams[0].api, UpstreamApi::kOpenAI);
  EXPECT_EQ(toString(loaded.config.upstreams[0].api), "openai");
}

TEST(KlingConfig, AKeyThatIsNotAPairIsRefusedWithoutShowingIt) {
  for (const char* bad : {"sk-zzqonly", ":sk-zzq", "ak-zzq:", "a:b:sk-zzq"}) {
    auto problems = klingProblems(kKling, klingKeys(bad));
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_NE(problems[0].message.find("ACCESS_KEY:SECRET_KEY"), std::string::npos);
    EXPECT_EQ(problems[0].message.find("zzq"), std::string::npos) << problems[0].message;
  }
}

TEST(KlingConfig, NoKeyIsAWarningUnlessTheClientsTokenIsPassedThrough) {
  std::string toml = kKling;
  toml.erase(toml.find("api_key_env = \"KLING_KEYS\"\n"), 27);
  auto klingWarnings = [](const LoadedConfig& loaded) {
    return std::count_if(loaded.warnings.begin(), loaded.warnings.end(), [](const auto& warning) {
      return warning.message.find("api = \"kling\" without api_key_env or api_key_file") !=
             std::string::npos;
    });
  };
  EXPECT_EQ(klingWarnings(loadConfigFromString(toml, "t", klingKeys(std::nullopt))), 1);
  EXPECT_EQ(klingWarnings(loadConfigFromString("[auth]\nmode = \"passthrough\"\n" + toml, "t",
                                               klingKeys(std::nullopt))),
            0);
}

TEST(KlingConfig, AnUnknownApiIsNamed) {
  std::string toml = kKling;
  toml.replace(toml.find("\"kling\"\npoll"), 7, "\"midjourney\"");
  auto problems = klingProblems(toml, klingKeys("a:b"));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("api must be \"openai\", \"seedream\" or \"kling\""),
            std::string::npos)
      << problems[0].message;
}

TEST(KlingConfig, SeedreamIsAnApiOfItsOwnWithABearerKey) {
  std::string toml = kKling;
  toml.replace(toml.find("\"kling\"\npoll"), 7, "\"seedream\"");
  EXPECT_TRUE(klingProblems(toml, klingKeys("ark-key")).empty());
  LoadedConfig loaded = loadConfigFromString(toml, "t", klingKeys("ark-key"));
  EXPECT_EQ(loaded.config.upstreams[0].api, UpstreamApi::kSeedream);
  EXPECT_EQ(toString(loaded.config.upstreams[0].api), "seedream");
  EXPECT_EQ(loaded.config.upstreams[0].api_key, "ark-key") << "no ACCESS:SECRET pair asked for";
}

}  // namespace
}  // namespace arkroute
