// Integration: the service lifecycle against a fake service manager (NOTIFY_SOCKET). READY=1 once
// the port accepts; SIGHUP reloads (RELOADING=1 … READY=1), serves new models, keeps the running
// config when the new one is broken and finishes requests in flight on their old route; SIGTERM
// lets a request in flight finish (and a response still being written reach its slow reader
// whole), says STOPPING=1 and exits 0; WATCHDOG=1 when asked for. Every long-lived thread is
// named by its role.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "integration/harness.h"
#include "integration/notify_socket.h"

namespace arkroute::testing {
namespace {

std::string configText(const TempDir& dir, const std::string& upstreams,
                       const std::string& models) {
  return "[server]\nlisten = \"127.0.0.1:0\"\nworkers = 2\ndrain_timeout = \"10s\"\n"
         "[cache]\nenabled = false\npath = \"" +
         dir.file("cache") + "\"\n[log]\naccess_log = \"off\"\n" + upstreams + models;
}

std::string upstream(const std::string& name, const Simulator& sim) {
  return "[[upstream]]\nname = \"" + name + "\"\nbase_url = \"" + sim.baseUrl() + "\"\n";
}

std::string model(const std::string& name, const std::string& upstream_name) {
  return "[[model]]\nname = \"" + name + "\"\nupstream = \"" + upstream_name + "\"\n";
}

int inFlight(Simulator& sim) {
  auto stats = nlohmann::json::parse(httpGet(sim.port(), "/_sim/stats").body, nullptr, false);
  return stats.is_object() ? stats.value("in_flight", -1) : -1;
}

// Polls (bounded) until the simulator holds a request.
bool waitInFlight(Simulator& sim, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (inFlight(sim) > 0) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

HttpResponse generate(uint16_t port, const std::string& model_name, const std::string& prompt) {
  return httpPostJson(port, "/v1/images/generations",
                      R"({"model":")" + model_name + R"(","prompt":")" + prompt + R"("})");
}

// A gateway started with NOTIFY_SOCKET pointing at a test socket.
struct Service {
  Service(const std::string& config, std::map<std::string, std::string> env = {}) {
    config_path = dir.file("arkroute.toml");
    writeFile(config_path, config);
    env["NOTIFY_SOCKET"] = notify.path();
    process = std::make_unique<ChildProcess>(
        std::vector<std::string>{ARKROUTE_BIN, "serve", "--config", config_path}, env);
  }
  // SIGHUP, then RELOADING=1 and READY=1; returns the RELOADING datagram ("" when missing).
  std::string reload(const std::string& config) {
    writeFile(config_path, config);
    process->signal(SIGHUP);
    auto reloading = notify.waitFor("RELOADING=1", 10s);
    if (!reloading || !notify.waitFor("READY=1", 10s)) return "";
    return *reloading;
  }
  TempDir dir;
  NotifySocket notify;
  std::string config_path;
  std::unique_ptr<ChildProcess> process;
};

// The names of a process's threads (/proc/PID/task/*/comm).
std::multiset<std::string> threadNames(pid_t pid) {
  std::multiset<std::string> names;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  return names;
}

// top -H, ps -L, gdb and perf show which part of the gateway each thread is.
TEST(Lifecycle, ThreadsAreNamedByTheirRole) {
  Simulator sim;
  GatewayOptions options{.upstream_base_url = sim.baseUrl()};
  options.cache_toml = "enabled = true\n";
  options.log_toml = "access_log = \"stdout\"\n";
  Gateway gateway(options);
  std::multiset<std::string> names = threadNames(gateway.process().pid());
  for (const char* role :
       {"ark-worker-0", "ark-worker-1", "ark-blocking-0", "ark-blocking-1", "ark-maint-0",
        "ark-gate-pump", "ark-sweeper", "ark-cache-write", "ark-access-log"}) {
    EXPECT_EQ(names.count(role), 1u) << role;
  }
}

// The workers share their port (SO_REUSEPORT), so a second gateway on it would bind too and quietly
// take some of the first one's connections. It must refuse to start instead.
TEST(Lifecycle, ASecondGatewayOnAPortInUseRefusesToStart) {
  Simulator sim;
  TempDir first_dir, second_dir;
  Service first(configText(first_dir, upstream("sim", sim), model("gpt-image-1", "sim")));
  uint16_t port = first.process->waitListening();
  ASSERT_NE(port, 0);
  std::string config = second_dir.file("arkroute.toml");
  writeFile(config, configText(second_dir, upstream("sim", sim), model("gpt-image-1", "sim")));
  ChildProcess second(
      {ARKROUTE_BIN, "serve", "--config", config, "--listen", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(second.waitExit(10s), 1) << "the second gateway should exit, not serve";
  EXPECT_NE(readFile(second.stderrPath()).find("another process is listening on it"),
            std::string::npos)
      << readFile(second.stderrPath());
  EXPECT_EQ(generate(port, "gpt-image-1", "still mine").status, 200);
}

// A cache larger than its disk would fill the disk before evicting: check says so (a warning,
// the config is still valid).
TEST(Lifecycle, CheckWarnsWhenTheCacheIsLargerThanItsDisk) {
  Simulator sim;
  TempDir dir;
  std::string config = dir.file("arkroute.toml");
  std::string text = configText(dir, upstream("sim", sim), model("gpt-image-1", "sim"));
  text.replace(text.find("enabled = false"), 15, "enabled = true\nmax_bytes = \"900TiB\"");
  writeFile(config, text);
  ChildProcess check({ARKROUTE_BIN, "check", "--config", config});
  EXPECT_EQ(check.waitExit(10s), 0);
  std::string warnings = readFile(check.stderrPath());
  EXPECT_NE(warnings.find("cache.max_bytes (900.0 TiB) is more than the disk under"),
            std::string::npos)
      << warnings;
}

// What serve would fail on at start, check fails on too: a ca_file that is not PEM, an access
// log in a directory that does not exist, or that is a directory. Nothing is created by looking.
TEST(Lifecycle, CheckFailsOnWhatServeCouldNotStartWith) {
  TempDir dir;
  writeFile(dir.file("not-a-bundle.pem"), "this is not a certificate\n");
  std::string tls_upstream =
      "[[upstream]]\nname = \"sim\"\nbase_url = \"https://127.0.0.1:1/v1\"\n"
      "ca_file = \"" +
      dir.file("not-a-bundle.pem") + "\"\n";
  std::string bad_ca = configText(dir, tls_upstream, model("gpt-image-1", "sim"));
  std::string missing_log_dir = dir.file("no-such-dir/access.log");
  Simulator sim;
  auto logging_to = [&](const std::string& log) {
    std::string text = configText(dir, upstream("sim", sim), model("gpt-image-1", "sim"));
    return text.replace(text.find("access_log = \"off\""), 18, "access_log = \"" + log + "\"");
  };
  for (const auto& [text, expected] :
       {std::pair{bad_ca, std::string("upstream 'sim': cannot load ca_file")},
        std::pair{logging_to(missing_log_dir),
                  "cannot open access log '" + missing_log_dir + "': no directory"},
        std::pair{logging_to(dir.path()),
                  "cannot open access log '" + dir.path() + "': a directory"}}) {
    writeFile(dir.file("arkroute.toml"), text);
    ChildProcess check({ARKROUTE_BIN, "check", "--config", dir.file("arkroute.toml")});
    EXPECT_EQ(check.waitExit(10s), 1);
    EXPECT_NE(readFile(check.stderrPath()).find(expected), std::string::npos)
        << readFile(check.stderrPath());
    EXPECT_EQ(check.stdoutText().find("config OK"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("no-such-dir")));
}

TEST(Lifecycle, ReadyIsSentOnceThePortAccepts) {
  Simulator sim;
  TempDir dir;
  Service service(configText(dir, upstream("sim", sim), model("gpt-image-1", "sim")));
  auto ready = service.notify.waitFor("READY=1", 15s);
  ASSERT_TRUE(ready) << "no READY=1";
  // READY=1 came first; the port it announces already accepts.
  uint16_t port = service.process->waitListening(1s);
  ASSERT_NE(port, 0);
  EXPECT_NE(ready->find("STATUS=serving http://127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << *ready;
  EXPECT_EQ(httpGet(port, "/healthz").status, 200);
  EXPECT_EQ(generate(port, "gpt-image-1", "ready").status, 200);
  for (const auto& datagram : service.notify.seen()) {
    EXPECT_FALSE(hasLine(datagram, "WATCHDOG=1")) << "no watchdog was asked for";
  }
}

TEST(Lifecycle, ReloadServesANewModelAndSaysSo) {
  Simulator sim;
  TempDir dir;
  std::string before = configText(dir, upstream("sim", sim), model("gpt-image-1", "sim"));
  Service service(before);
  ASSERT_TRUE(service.notify.waitFor("READY=1", 15s));
  uint16_t port = service.process->waitListening(1s);
  EXPECT_EQ(generate(port, "brand-new", "before").status, 404);

  std::string reloading =
      service.reload(before + upstream("added", sim) + model("brand-new", "added"));
  ASSERT_FALSE(reloading.empty()) << "no RELOADING=1 then READY=1";
  EXPECT_NE(reloading.find("MONOTONIC_USEC="), std::string::npos) << reloading;
  HttpResponse after = generate(port, "brand-new", "after");
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(sim.requests(), 1);
  EXPECT_NE(httpGet(port, "/v1/models").body.find("brand-new"), std::string::npos);
  std::string metrics = httpGet(port, "/metrics").body;
  EXPECT_NE(metrics.find("arkroute_upstream_connections_opened_total{upstream=\"added\"} 1"),
            std::string::npos)
      << "an upstream the reload added is counted like the others\n"
      << metrics;
}

TEST(Lifecycle, BrokenConfigIsRejectedWithEveryProblemAndTheOldOneServes) {
  Simulator sim;
  TempDir dir;
  std::string good = configText(dir, upstream("sim", sim), model("gpt-image-1", "sim"));
  Service service(good);
  ASSERT_TRUE(service.notify.waitFor("READY=1", 15s));
  uint16_t port = service.process->waitListening(1s);

  std::string broken = good + model("orphan", "nowhere") + "[server.bogus]\nx = 1\n";
  broken.replace(broken.find("workers = 2"), 11, "workers = \"two\"");
  ASSERT_FALSE(service.reload(broken).empty());
  EXPECT_EQ(kill(service.process->pid(), 0), 0) << "the gateway died on a broken config";
  EXPECT_EQ(generate(port, "gpt-image-1", "still served").status, 200);
  std::string log = readFile(service.process->stderrPath());
  EXPECT_NE(log.find(service.config_path + ":3:"), std::string::npos) << log;  // workers
  EXPECT_NE(log.find("nowhere"), std::string::npos) << log;
  EXPECT_NE(log.find("reload rejected"), std::string::npos) << log;
  EXPECT_NE(log.find("still serving the previous config"), std::string::npos) << log;

  // Restart-only settings are reported and kept; the rest applies.
  std::string relisten = good + model("second", "sim");
  relisten.replace(relisten.find("127.0.0.1:0"), 11, "127.0.0.1:1");
  ASSERT_FALSE(service.reload(relisten).empty());
  EXPECT_EQ(generate(port, "second", "live").status, 200);
  log = readFile(service.process->stderrPath());
  EXPECT_NE(log.find("server.listen changed"), std::string::npos) << log;
  EXPECT_NE(log.find("needs a restart"), std::string::npos) << log;
}

TEST(Lifecycle, RequestStraddlingAReloadFinishesOnItsOldRoute) {
  Simulator slow({"--latency-ms", "1500"});
  Simulator fast;
  TempDir dir;
  Service service(configText(dir, upstream("sim", slow), model("gpt-image-1", "sim")));
  ASSERT_TRUE(service.notify.waitFor("READY=1", 15s));
  uint16_t port = service.process->waitListening(1s);

  auto straddling = std::async(
      std::launch::async, [port] { return generate(port, "gpt-image-1", "straddles the reload"); });
  ASSERT_TRUE(waitInFlight(slow));
  // The new config puts another upstream first and the model on it: upstream positions change.
  ASSERT_FALSE(service
                   .reload(configText(dir, upstream("fast", fast) + upstream("sim", slow),
                                      model("gpt-image-1", "fast")))
                   .empty());
  HttpResponse fresh = generate(port, "gpt-image-1", "after the reload");
  EXPECT_EQ(fresh.status, 200) << fresh.body;
  HttpResponse old = straddling.get();
  EXPECT_EQ(old.status, 200) << old.body;
  EXPECT_EQ(slow.requests(), 1);
  EXPECT_EQ(fast.requests(), 1);
  // The old generation is retired once its last request is gone; the gateway keeps serving.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(generate(port, "gpt-image-1", "later").status, 200);
  EXPECT_EQ(fast.requests(), 2);
}

TEST(Lifecycle, RequestStraddlingSigtermCompletesThenTheProcessExitsZero) {
  Simulator slow({"--latency-ms", "1000"});
  TempDir dir;
  Service service(configText(dir, upstream("sim", slow), model("gpt-image-1", "sim")));
  ASSERT_TRUE(service.notify.waitFor("READY=1", 15s));
  uint16_t port = service.process->waitListening(1s);

  auto straddling = std::async(std::launch::async, [port] {
    return generate(port, "gpt-image-1", "straddles the shutdown");
  });
  ASSERT_TRUE(waitInFlight(slow));
  service.process->signal(SIGTERM);
  EXPECT_TRUE(service.notify.waitFor("STOPPING=1", 5s));
  HttpResponse response = straddling.get();
  EXPECT_EQ(response.status, 200) << response.error << response.body
                                  << readFile(service.process->stderrPath());
  EXPECT_EQ(service.process->waitExit(15s), 0) << readFile(service.process->stderrPath());
}

TEST(Lifecycle, ResponseStillBeingWrittenAtSigtermIsDeliveredWhole) {
  Simulator sim({"--payload-bytes", "3000000"});
  TempDir dir;
  std::string config = configText(dir, upstream("sim", sim), model("gpt-image-1", "sim"));
  config.replace(config.find("enabled = false"), 15, "enabled = true");
  Service service(config);
  ASSERT_TRUE(service.notify.waitFor("READY=1", 15s));
  uint16_t port = service.process->waitListening(1s);
  HttpResponse first = generate(port, "gpt-image-1", "big and cached");
  ASSERT_EQ(first.status, 200);

  // A cache hit is handed to the connection whole: the exchange is over at once, but megabytes
  // are still queued for a client that reads slowly.
  std::promise<void> started;
  auto slow_reader = std::async(std::launch::async, [port, &started] {
    HttpCall call;
    call.method = "POST";
    call.path = "/v1/images/generations";
    call.headers = {{"Content-Type", "application/json"}};
    call.body = R"({"model":"gpt-image-1","prompt":"big and cached"})";
    call.on_body = [&started, paused = false](const std::string&) mutable {
      if (std::exchange(paused, true)) return;
      started.set_value();
      std::this_thread::sleep_for(1500ms);
    };
    return httpRequest(port, call);
  });
  ASSERT_EQ(started.get_future().wait_for(10s), std::future_status::ready);
  service.process->signal(SIGTERM);
  HttpResponse hit = slow_reader.get();
  EXPECT_EQ(hit.status, 200);
  EXPECT_TRUE(hit.complete) << hit.error;
  EXPECT_EQ(hit.body.size(), first.body.size());
  EXPECT_EQ(hit.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(service.process->waitExit(15s), 0);
}

TEST(Lifecycle, WatchdogKeepAlivesComeAtHalfTheInterval) {
  Simulator sim;
  TempDir dir;
  Service service(configText(dir, upstream("sim", sim), model("gpt-image-1", "sim")),
                  {{"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(service.notify.waitFor("READY=1", 15s));
  auto started = std::chrono::steady_clock::now();
  int keepalives = 0;
  while (keepalives < 4 && service.notify.waitFor("WATCHDOG=1", 2s)) ++keepalives;
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(keepalives, 4);
  EXPECT_LT(took, 1500ms) << "4 keep-alives at 100 ms should take about 400 ms";
}

}  // namespace
}  // namespace arkroute::testing
