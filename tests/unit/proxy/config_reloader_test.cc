// Unit tests for config reload planning and the reloader: what applies live, what is kept and
// reported as needing a restart, and that a broken file is rejected with every problem.
#include "proxy/config_reloader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace arkroute {
namespace {

const char kBase[] = R"(
[server]
listen = "127.0.0.1:8080"
workers = 2
[cache]
path = "/tmp/arkroute-reload-test"
[[upstream]]
name = "sim"
base_url = "http://127.0.0.1:9090/v1"
[[model]]
name = "gpt-image-1"
upstream = "sim"
)";

Config parse(const std::string& text) {
  return loadConfigFromString(text, "t.toml", [](const std::string&) { return std::nullopt; })
      .config;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(PlanReload, RoutesApplyAndNothingNeedsARestart) {
  Config running = parse(kBase);
  Config next = parse(std::string(kBase) + "[[model]]\nname = \"new\"\nupstream = \"sim\"\n");
  ReloadPlan plan = planReload(running, next);
  EXPECT_TRUE(plan.needs_restart.empty());
  EXPECT_NE(plan.config->findModel("new"), nullptr);
}

TEST(PlanReload, RestartOnlySettingsKeepTheirRunningValueAndAreNamed) {
  Config running = parse(kBase);
  std::string text = replaced(kBase, "127.0.0.1:8080", "0.0.0.0:9999");
  text = replaced(text, "workers = 2",
                  "workers = 4\nmax_body_bytes = 1048576\ndrain_timeout = \"5s\"");
  text = replaced(text, "/tmp/arkroute-reload-test", "/elsewhere");
  ReloadPlan plan = planReload(running, parse(text));
  EXPECT_EQ(plan.needs_restart, (std::vector<std::string>{"server.listen", "server.workers",
                                                          "server.max_body_bytes", "cache.path"}));
  EXPECT_EQ(plan.config->server.listen_host, "127.0.0.1");
  EXPECT_EQ(plan.config->server.listen_port, 8080);
  EXPECT_EQ(plan.config->server.workers, 2);
  EXPECT_EQ(plan.config->server.max_body_bytes, running.server.max_body_bytes);
  EXPECT_EQ(plan.config->cache.path, "/tmp/arkroute-reload-test");
  EXPECT_EQ(plan.config->server.drain_timeout, std::chrono::seconds(5));  // applies live
  // The URLs handed out keep pointing where the gateway still listens.
  EXPECT_EQ(plan.config->server.public_url, "http://127.0.0.1:8080");
}

// Every worker's MCP endpoint copies [mcp] when it first serves: a reload that changed it would
// apply on some workers only (a removed origin still accepted by the others), so it is kept.
TEST(PlanReload, McpSettingsKeepTheirRunningValueAndAreNamed) {
  std::string with_mcp = std::string(kBase) + "[mcp]\nallowed_origins = [\"http://a.example\"]\n";
  Config running = parse(with_mcp);
  ReloadPlan plan = planReload(running, parse(replaced(with_mcp, "\"http://a.example\"", "")));
  EXPECT_EQ(plan.needs_restart, std::vector<std::string>{"mcp"});
  EXPECT_EQ(plan.config->mcp.allowed_origins, std::vector<std::string>{"http://a.example"});
  EXPECT_TRUE(planReload(running, parse(with_mcp)).needs_restart.empty());
  // public_url is one of the endpoint's Origins, so it is kept with [mcp].
  ReloadPlan moved = planReload(
      running,
      parse(replaced(with_mcp, "workers = 2", "workers = 2\npublic_url = \"https://x.test\"")));
  EXPECT_EQ(moved.needs_restart, std::vector<std::string>{"server.public_url"});
  EXPECT_EQ(moved.config->server.public_url, "http://127.0.0.1:8080");
}

class ReloaderFile : public ::testing::Test {
 protected:
  // One file per test and process: ctest -j runs these tests at the same time.
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = (std::filesystem::temp_directory_path() /
             ("arkroute-reloader-" + name + "-" + std::to_string(getpid()) + ".toml"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(ReloaderFile, BrokenFileIsRejectedWithEveryProblem) {
  Config running = parse(kBase);
  write(replaced(kBase, "upstream = \"sim\"", "upstream = \"nowhere\"\nbogus = 1"));
  ConfigReloader reloader(path_, nullptr);
  std::ostringstream log;
  EXPECT_EQ(reloader.load(running, log), nullptr);
  EXPECT_NE(log.str().find("nowhere"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("unknown key 'bogus'"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("2 problem(s)"), std::string::npos) << log.str();
}

// [mcp] is kept until a restart, default_model with it: a reload that drops that model (and the
// line naming it, so the new file alone is valid) would leave MCP's default pointing at nothing.
TEST_F(ReloaderFile, ARemovedModelThatTheRunningMcpDefaultNamesIsRejected) {
  std::string two = std::string(kBase) + "[[model]]\nname = \"cheap\"\nupstream = \"sim\"\n";
  Config running = parse(two + "[mcp]\ndefault_model = \"cheap\"\n");
  write(kBase);
  ConfigReloader reloader(path_, nullptr);
  std::ostringstream log;
  EXPECT_EQ(reloader.load(running, log), nullptr);
  EXPECT_NE(log.str().find("mcp.default_model 'cheap'"), std::string::npos) << log.str();
  write(two);  // the model stays: the reload applies, the MCP default kept
  auto next = reloader.load(running, log);
  ASSERT_NE(next, nullptr) << log.str();
  EXPECT_EQ(next->mcp.default_model, "cheap");
}

TEST_F(ReloaderFile, OverridesApplyAgainAndRestartNotesAreLogged) {
  Config running = parse(kBase);
  running.server.listen_port = 7000;  // as --listen 127.0.0.1:7000 left it
  write(std::string(kBase) + "[[model]]\nname = \"new\"\nupstream = \"sim\"\n");
  ConfigReloader reloader(path_, [](Config* c) {
    c->server.listen_port = 7000;
    return true;
  });
  std::ostringstream log;
  auto next = reloader.load(running, log);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(log.str().find("restart"), std::string::npos)
      << log.str();  // the override is no change
  EXPECT_NE(next->findModel("new"), nullptr);

  write(replaced(kBase, "workers = 2", "workers = 3"));
  next = reloader.load(running, log);
  ASSERT_NE(next, nullptr);
  EXPECT_NE(log.str().find("server.workers changed"), std::string::npos) << log.str();
  EXPECT_EQ(next->server.workers, 2);
}

}  // namespace
}  // namespace arkroute
