// The [mcp] section: defaults, values, and its validation rules.
#include <gtest/gtest.h>

#include "conf/config.h"

namespace arkroute {
namespace {

using namespace std::chrono_literals;

const char kModels[] = R"(
[[upstream]]
name = "sim"
base_url = "http://127.0.0.1:9090/v1"
[[model]]
name = "gpt-image-1"
upstream = "sim"
[[model]]
name = "seedream-4.5"
upstream = "sim"
)";

EnvLookup noEnv() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::vector<ConfigProblem> mcpProblemsOf(const std::string& toml) {
  try {
    loadConfigFromString(toml, "mcp.toml", noEnv());
  } catch (const ConfigError& error) {
    return error.problems();
  }
  return {};
}

TEST(McpConfig, DefaultsWhenTheSectionIsAbsent) {
  McpConfig mcp = loadConfigFromString(kModels, "t", noEnv()).config.mcp;
  EXPECT_TRUE(mcp.enabled);
  EXPECT_TRUE(mcp.allowed_origins.empty());
  EXPECT_EQ(mcp.default_model, "");
  EXPECT_EQ(mcp.session_ttl, 1h);
  EXPECT_EQ(mcp.max_sessions, 10000);
}

TEST(McpConfig, ValuesAreRead) {
  std::string toml = std::string(kModels) +
                     "[mcp]\nenabled = false\nallowed_origins = [\"https://app.example\", "
                     "\"http://localhost:3000\"]\ndefault_model = \"seedream-4.5\"\n"
                     "session_ttl = \"10m\"\nmax_sessions = 50\n";
  McpConfig mcp = loadConfigFromString(toml, "t", noEnv()).config.mcp;
  EXPECT_FALSE(mcp.enabled);
  EXPECT_EQ(mcp.allowed_origins,
            (std::vector<std::string>{"https://app.example", "http://localhost:3000"}));
  EXPECT_EQ(mcp.default_model, "seedream-4.5");
  EXPECT_EQ(mcp.session_ttl, 10min);
  EXPECT_EQ(mcp.max_sessions, 50);
}

TEST(McpConfig, InvalidValuesAreReportedWithTheirLine) {
  auto undeclared = mcpProblemsOf(std::string(kModels) + "[mcp]\ndefault_model = \"dall-e-9\"\n");
  ASSERT_EQ(undeclared.size(), 1u);
  EXPECT_NE(undeclared[0].message.find("'dall-e-9' is not a declared model"), std::string::npos);
  EXPECT_EQ(undeclared[0].file, "mcp.toml");
  EXPECT_GT(undeclared[0].line, 0);
  EXPECT_EQ(mcpProblemsOf(std::string(kModels) + "[mcp]\nallowed_origins = [1]\n").size(), 1u);
  EXPECT_EQ(mcpProblemsOf(std::string(kModels) + "[mcp]\nallowed_origins = \"*\"\n").size(), 1u);
  EXPECT_EQ(mcpProblemsOf(std::string(kModels) + "[mcp]\nmax_sessions = 0\n").size(), 1u);
  EXPECT_EQ(mcpProblemsOf(std::string(kModels) + "[mcp]\nsession_ttl = \"soon\"\n").size(), 1u);
  auto typo = mcpProblemsOf(std::string(kModels) + "[mcp]\nenable = true\n");
  ASSERT_EQ(typo.size(), 1u);
  EXPECT_NE(typo[0].message.find("did you mean 'enabled'"), std::string::npos);
}

}  // namespace
}  // namespace arkroute
