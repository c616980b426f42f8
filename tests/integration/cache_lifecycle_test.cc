// Integration: a generation whose client left is still finished and cached, also when a drain
// (SIGTERM) begins meanwhile; what a drain's deadline cuts short is still in the ledger; and the
// `arkroute cache` command line works on the database directly and through a running gateway, and
// never through a gateway that keeps another database.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "cache/rocks_database.h"
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

// A generation whose client gives up after `timeout`.
HttpCall generationCall(const std::string& body, std::chrono::milliseconds timeout) {
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/generations";
  call.body = body;
  call.headers = {{"Content-Type", "application/json"}};
  call.timeout = timeout;
  return call;
}

TEST(CacheLifecycle, TheWriterFinishesAndCachesWhenItsClientLeaves) {
  Simulator sim({"--latency-ms", "800"});
  Gateway gateway(cached(sim));
  const std::string body = R"({"model":"gpt-image-1","prompt":"abandoned but cached"})";
  ASSERT_TRUE(postThenLeave(gateway.port(), "/v1/images/generations", body,
                            [&] { return sim.requests() >= 1; }));
  std::this_thread::sleep_for(1200ms);  // the simulator answers 800 ms after it got the request
  HttpResponse later = httpPostJson(gateway.port(), "/v1/images/generations", body);
  EXPECT_EQ(later.status, 200);
  EXPECT_EQ(later.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(sim.requests(), 1);
}

// Sends a generation from a socket with a small receive buffer, reads the head and then nothing
// for a while (the gateway's buffer for it fills: it stops reading the provider), then leaves.
void readTheHeadThenLeave(uint16_t port, const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  timeval limit{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string request =
      "POST /v1/images/generations HTTP/1.1\r\nHost: gateway\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  char head[512];
  ssize_t got = recv(fd, head, sizeof head, 0);
  EXPECT_GT(got, 0);
  EXPECT_EQ(std::string(head, std::max<ssize_t>(got, 0)).rfind("HTTP/1.1 200", 0), 0u);
  std::this_thread::sleep_for(700ms);
  close(fd);
}

// The writer's client reads slowly, so the provider's answer is paused (backpressure); when that
// client then leaves, the writer reads the rest and stores it, instead of staying paused until
// the upstream's timeout while identical requests wait for it.
TEST(CacheLifecycle, TheWriterFinishesAndCachesWhenItsSlowClientLeavesMidAnswer) {
  Simulator sim({"--payload-bytes", "6000000"});  // ~8 MB of JSON, more than a client's buffer
  Gateway gateway(cached(sim));
  const std::string body = R"({"model":"gpt-image-1","prompt":"a slow reader leaves"})";
  readTheHeadThenLeave(gateway.port(), body);
  HttpResponse served = httpRequest(gateway.port(), generationCall(body, 10s));
  ASSERT_EQ(served.status, 200) << served.error;
  EXPECT_TRUE(served.header("x-arkroute-cache") == "HIT" ||
              served.header("x-arkroute-cache") == "COALESCED")
      << served.header("x-arkroute-cache");
  EXPECT_EQ(sim.requests(), 1) << "the paid generation was kept, not made again";
}

// A caching gateway in front of a simulator that answers after latency_ms.
struct Draining {
  Draining(int latency_ms, const std::string& drain_timeout)
      : sim({"--latency-ms", std::to_string(latency_ms)}), gateway([this, &drain_timeout] {
          GatewayOptions options = cached(sim);
          options.server_toml = "drain_timeout = \"" + drain_timeout + "\"\n";
          return options;
        }()) {}

  // Starts a generation whose client leaves once it is upstream, then stops the gateway with
  // SIGTERM while that generation is still there. Returns how long the gateway took to exit 0.
  std::chrono::steady_clock::duration abandonThenStop(const std::string& prompt) {
    EXPECT_TRUE(postThenLeave(gateway.port(), "/v1/images/generations",
                              R"({"model":"gpt-image-1","prompt":")" + prompt + R"("})",
                              [this] { return sim.requests() >= 1; }));
    return stop();
  }

  std::chrono::steady_clock::duration stop() {
    auto started = std::chrono::steady_clock::now();
    gateway.process().signal(SIGTERM);
    EXPECT_EQ(gateway.process().waitExit(15s), 0);
    return std::chrono::steady_clock::now() - started;
  }

  // After the gateway exited: the ledger's request count and the cache's entry count, read from
  // the database by the command line.
  std::pair<int, int> requestsAndEntries() {
    int code = -1;
    std::string usage =
        runCli({"usage", "--format", "json", "--config", gateway.configPath()}, {}, &code);
    EXPECT_EQ(code, 0) << usage;
    std::string stats = runCli({"cache", "stats", "--config", gateway.configPath()},
                               {{"ARKROUTE_ADMIN_TOKEN", ""}}, &code);
    EXPECT_EQ(code, 0) << stats;
    json totals = json::parse(usage, nullptr, false)["totals"];
    json entries = json::parse(stats, nullptr, false)["entries"];
    return {totals["requests"].is_number() ? totals["requests"].get<int>() : -1,
            entries.is_number() ? entries.get<int>() : -1};
  }

  Simulator sim;
  Gateway gateway;
};

TEST(CacheLifecycle, AFillWhoseClientLeftIsFinishedByTheDrainAndCounted) {
  Draining service(1000, "10s");
  EXPECT_GE(service.abandonThenStop("finished by the drain"), 700ms)
      << "the drain waits for the paid generation instead of throwing it away";
  EXPECT_EQ(service.sim.requests(), 1);
  EXPECT_EQ(service.requestsAndEntries(), std::make_pair(1, 1));
}

TEST(CacheLifecycle, AFillStillRunningAtTheDrainDeadlineIsCancelledAndCounted) {
  Draining service(5000, "300ms");
  EXPECT_LT(service.abandonThenStop("cut by the deadline"), 4s);
  EXPECT_EQ(service.requestsAndEntries(), std::make_pair(1, 0))
      << "the cancelled generation is still in the ledger, and nothing half-written is cached";
}

TEST(CacheLifecycle, ARequestWhoseClientStillWaitsAtTheDrainDeadlineIsCounted) {
  Draining service(5000, "300ms");
  auto patient = std::async(std::launch::async, [port = service.gateway.port()] {
    return httpPostJson(port, "/v1/images/generations",
                        R"({"model":"gpt-image-1","prompt":"still waiting"})");
  });
  for (int i = 0; i < 2000 && service.sim.requests() < 1; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_LT(service.stop(), 4s);
  EXPECT_EQ(patient.get().status, 0) << "the connection is closed at the deadline";
  EXPECT_EQ(service.requestsAndEntries(), std::make_pair(1, 0));
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
  std::string stats;
  for (int i = 0; i < 50; ++i, std::this_thread::sleep_for(100ms)) {  // stored in the background
    stats = runCli({"cache", "stats", "--config", live_config},
                   {{"ARKROUTE_ADMIN_TOKEN", "cli-token"}}, &code);
    if (code != 0 || json::parse(stats)["entries"] == 2) break;
  }
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

// The sidecar pattern: a second config whose listen address is another gateway's (the one it
// meant was started with --listen). Its database is not that gateway's, so the admin API refuses
// the purge instead of emptying the wrong cache; --url reaches the right one.
TEST(CacheLifecycle, TheCacheCommandNeverPurgesAGatewayThatKeepsAnotherDatabase) {
  Simulator sim;
  Gateway gateway(cached(sim));
  httpPostJson(gateway.port(), "/v1/images/generations",
               R"({"model":"gpt-image-1","prompt":"not yours"})");
  std::string text = readFile(gateway.configPath());
  std::string cache_line = "path = \"" + gateway.dataDir() + "/cache\"";
  ASSERT_NE(text.find(cache_line), std::string::npos) << text;
  std::string other = text;
  other.replace(other.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(gateway.port()));
  other.replace(other.find(cache_line), cache_line.size(),
                "path = \"" + gateway.dataDir() + "/other-cache\"");
  std::string other_config = gateway.dataDir() + "/other.toml";
  writeFile(other_config, other);
  std::map<std::string, std::string> env = {{"ARKROUTE_ADMIN_TOKEN", "cli-token"}};
  int code = -1;
  runCli({"cache", "purge", "--config", other_config}, env, &code);
  EXPECT_EQ(code, 1);
  std::string stats;
  for (int i = 0; i < 50; ++i, std::this_thread::sleep_for(100ms)) {  // stored in the background
    stats = runCli({"cache", "stats", "--url", "http://127.0.0.1:" + std::to_string(gateway.port()),
                    "--config", gateway.configPath()},
                   env, &code);
    if (code != 0 || json::parse(stats)["entries"] == 1) break;
  }
  EXPECT_EQ(code, 0) << stats;
  EXPECT_EQ(json::parse(stats)["entries"], 1) << "the other config's purge reached this cache";

  // The same check, over HTTP: the database the request names, and the scheme in any case.
  HttpCall call;
  call.path = "/admin/cache/stats";
  call.headers = {{"Authorization", "bearer cli-token"},
                  {"X-ArkRoute-Database", gateway.dataDir() + "/other-cache"}};
  HttpResponse refused = httpRequest(gateway.port(), call);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["error"]["code"], "database_mismatch");
  EXPECT_NE(refused.body.find("keeps its database at " + gateway.dataDir() + "/cache"),
            std::string::npos)
      << refused.body;
  call.headers[1].second = cache::RocksDatabase::canonicalPath(gateway.dataDir() + "/cache");
  EXPECT_EQ(httpRequest(gateway.port(), call).status, 200);
}

// The service's state directory is a link the CLI of another user cannot follow
// (/var/lib/arkroute → /var/lib/private/arkroute): the path as the config writes it names the
// gateway's database too.
TEST(CacheLifecycle, TheDatabaseIsNamedByItsPathWithOrWithoutItsLinksFollowed) {
  Simulator sim;
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/private/state");
  std::filesystem::create_directory_symlink(dir.path() + "/private/state", dir.path() + "/state");
  GatewayOptions options = cached(sim);
  options.cache_path = dir.path() + "/state/cache";
  Gateway gateway(options);
  HttpCall call;
  call.path = "/admin/cache/stats";
  for (const std::string& named :
       {dir.path() + "/state/cache", dir.path() + "/private/state/cache"}) {
    call.headers = {{"Authorization", "Bearer cli-token"}, {"X-ArkRoute-Database", named}};
    HttpResponse answer = httpRequest(gateway.port(), call);
    EXPECT_EQ(answer.status, 200) << named << ": " << answer.body;
  }
  call.headers = {{"Authorization", "Bearer cli-token"},
                  {"X-ArkRoute-Database", dir.path() + "/other/cache"}};
  EXPECT_EQ(httpRequest(gateway.port(), call).status, 409);
}

}  // namespace
}  // namespace arkroute::testing
