// Integration: a generation whose client left is still finished and cached, and the
// `arkroute cache` command line works on the database directly and through a running gateway.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

GatewayOptions cached(const Simulator& sim) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  options.env = {{"ARKROUTE_ADMIN_TOKEN", "cli-token"}};
  return options;
}

std::string runCli(const std::vector<std::string>& args, std::map<std::string, std::string> env,
                   int* exit_code) {
  std::vector<std::string> argv = {ARKROUTE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess cli(argv, std::move(env));
  *exit_code = cli.waitExit(20s);
  return cli.stdoutText();
}

TEST(CacheLifecycle, TheWriterFinishesAndCachesWhenItsClientLeaves) {
  Simulator sim({"--latency-ms", "800"});
  Gateway gateway(cached(sim));
  const std::string body = R"({"model":"gpt-image-1","prompt":"abandoned but cached"})";
  HttpCall impatient;
  impatient.method = "POST";
  impatient.path = "/v1/images/generations";
  impatient.body = body;
  impatient.headers = {{"Content-Type", "application/json"}};
  impatient.timeout = 200ms;
  EXPECT_EQ(httpRequest(gateway.port(), impatient).status, 0);
  std::this_thread::sleep_for(1200ms);
  HttpResponse later = httpPostJson(gateway.port(), "/v1/images/generations", body);
  EXPECT_EQ(later.status, 200);
  EXPECT_EQ(later.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(sim.requests(), 1);
}

TEST(CacheLifecycle, CacheCommandWorksThroughTheGatewayAndOnTheDatabase) {
  Simulator sim;
  Gateway gateway(cached(sim));
  httpPostJson(gateway.port(), "/v1/images/generations",
               R"({"model":"gpt-image-1","prompt":"cli one"})");
  httpPostJson(gateway.port(), "/v1/images/generations",
               R"({"model":"seedream-4.5","prompt":"cli two"})");
  // The config listens on port 0; tell the CLI where the running gateway is.
  std::string config = gateway.configPath();
  std::string live_config = gateway.dataDir() + "/live.toml";
  {
    std::ifstream in(config);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    text.replace(text.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(gateway.port()));
    writeFile(live_config, text);
  }
  int code = -1;
  std::string stats = runCli({"cache", "stats", "--config", live_config},
                             {{"ARKROUTE_ADMIN_TOKEN", "cli-token"}}, &code);
  EXPECT_EQ(code, 0) << stats;
  EXPECT_EQ(json::parse(stats)["entries"], 2);
  std::string refused = runCli({"cache", "stats", "--config", live_config}, {}, &code);
  EXPECT_EQ(code, 1) << "without the admin token the CLI cannot reach a running gateway's cache";

  gateway.process().signal(SIGTERM);
  ASSERT_EQ(gateway.process().waitExit(15s), 0);
  std::string purged = runCli({"cache", "purge", "--model", "seedream-4.5", "--config", config},
                              {{"ARKROUTE_ADMIN_TOKEN", ""}}, &code);
  EXPECT_EQ(code, 0) << purged;
  EXPECT_EQ(json::parse(purged)["purged"], 1);
  stats = runCli({"cache", "stats", "--config", config}, {}, &code);
  EXPECT_EQ(json::parse(stats)["entries"], 1);
}

}  // namespace
}  // namespace arkroute::testing
