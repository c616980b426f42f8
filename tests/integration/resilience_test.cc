// Integration: retries (429 storms with retry-after), fallbacks to another model, ejection of an
// upstream that keeps failing, and shaping (a provider never sees more than max_concurrency
// requests; excess requests wait in the queue instead of getting 429, until the queue is full).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

std::string body(const std::string& model, const std::string& prompt) {
  return nlohmann::json{{"model", model}, {"prompt", prompt}}.dump();
}

double elapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

int simStat(Simulator& sim, const char* name) {
  auto stats = nlohmann::json::parse(httpGet(sim.port(), "/_sim/stats").body, nullptr, false);
  return stats.value(name, -1);
}

TEST(Retries, A429StormWithRetryAfterIsRetriedAndServed) {
  Simulator sim;
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.extra_upstream_toml = "max_retries = 3\nretry_base = \"20ms\"\n";
  Gateway gateway(options);
  auto start = std::chrono::steady_clock::now();
  HttpResponse response = httpPostJson(
      gateway.port(), "/v1/images/generations", body("gpt-image-1", "storm"),
      {{"x-sim-fault", "429"}, {"x-sim-fault-times", "2"}, {"x-sim-fault-id", "storm"}});
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(sim.requests(), 3) << "two 429s, then the answer";
  EXPECT_GE(elapsedMs(start), 1900) << "the sim's retry-after-ms (1000) was honoured twice";
}

TEST(Retries, GiveUpAfterMaxRetriesAndPassTheProviderAnswerThrough) {
  Simulator sim;
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.extra_upstream_toml = "max_retries = 1\nretry_base = \"10ms\"\n";
  Gateway gateway(options);
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations",
                                       body("gpt-image-1", "always 500"), {{"x-sim-fault", "500"}});
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(sim.requests(), 2);
}

// Model "primary" on an upstream that refuses connections (one retry after retry_base), with
// fallback "backup" on the simulator.
GatewayOptions fallbackOptions(const Simulator& sim, const std::string& retry_base) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.models_toml =
      "[[model]]\nname = \"primary\"\nupstream = \"dead\"\nfallbacks = [\"backup\"]\n"
      "[[model]]\nname = \"backup\"\nupstream = \"sim\"\nupstream_model = \"gpt-image-1\"\n";
  options.extra_toml =
      "[[upstream]]\nname = \"dead\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
      "max_retries = 1\nretry_base = \"" +
      retry_base + "\"\n";
  return options;
}

TEST(Fallbacks, TheNextModelServesWhenThePrimaryUpstreamIsDown) {
  Simulator sim;
  Gateway gateway(fallbackOptions(sim, "10ms"));
  ASSERT_NE(gateway.port(), 0);
  HttpResponse response =
      httpPostJson(gateway.port(), "/v1/images/generations", body("primary", "fallback"));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-arkroute-model"), "backup");
  EXPECT_EQ(sim.requests(), 1);
}

// Identical requests waiting for one that falls back get its answer: without it, each would fall
// back on its own and pay for a generation. One asking for URLs fetches on its own (the fallback's
// answer is not stored, so it has no URL).
TEST(Fallbacks, IdenticalWaitingRequestsShareTheFallbackAnswer) {
  Simulator sim({"--latency-ms", "800"});
  GatewayOptions options = fallbackOptions(sim, "200ms");
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  ASSERT_NE(gateway.port(), 0);
  std::vector<HttpResponse> responses(4);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < responses.size(); ++i) {
    clients.emplace_back([&, i] {
      responses[i] =
          httpPostJson(gateway.port(), "/v1/images/generations", body("primary", "shared"));
    });
  }
  // Joins as a waiter once the fallback's generation is upstream (for 800 ms).
  for (int i = 0; i < 2000 && sim.requests() < 1; ++i) std::this_thread::sleep_for(5ms);
  HttpResponse url =
      httpPostJson(gateway.port(), "/v1/images/generations",
                   R"({"model":"primary","prompt":"shared","response_format":"url"})");
  for (auto& client : clients) client.join();
  int coalesced = 0;
  for (const HttpResponse& response : responses) {
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.header("x-arkroute-model"), "backup");
    EXPECT_EQ(response.body, responses[0].body);
    coalesced += response.header("x-arkroute-cache") == "COALESCED";
  }
  EXPECT_EQ(coalesced, 3);
  EXPECT_EQ(url.status, 200) << url.body;
  EXPECT_EQ(url.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(sim.requests(), 2) << "one generation for four identical requests, one for the url one";
  HttpResponse again =
      httpPostJson(gateway.port(), "/v1/images/generations", body("primary", "shared"));
  EXPECT_EQ(again.header("x-arkroute-cache"), "MISS") << "another model's image is not stored";
  EXPECT_EQ(sim.requests(), 3);
}

// One worker and a model "pair" served by upstream `primary` (at primary_url, with the extra
// settings) and the simulator "sim" behind it.
GatewayOptions pairOptions(const Simulator& sim, const std::string& primary,
                           const std::string& primary_url, const std::string& settings) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.workers = 1;
  options.models_toml = "[[model]]\nname = \"pair\"\nupstream = \"" + primary +
                        "\"\nupstreams = [\"sim\"]\nupstream_model = \"gpt-image-1\"\n";
  options.extra_toml =
      "[[upstream]]\nname = \"" + primary + "\"\nbase_url = \"" + primary_url + "\"\n" + settings;
  return options;
}

// A loopback listener that accepts each connection and closes it at once, counting them: an
// upstream that fails every request before answering, whose tries a test can count.
class Refuser {
 public:
  Refuser() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(fd_, 64);
    socklen_t length = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd ready{fd_, POLLIN, 0};
        if (poll(&ready, 1, 20) <= 0) continue;
        int client = accept(fd_, nullptr, nullptr);
        if (client < 0) continue;
        close(client);
        ++accepted_;
      }
    });
  }
  ~Refuser() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int accepted() const { return accepted_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Counted, not timed: the tries the failing upstream gets say whether it was skipped.
TEST(Ejection, AFailingUpstreamIsSkippedDuringItsCooldownThenProbed) {
  Simulator sim;
  Refuser failing;
  Gateway gateway(pairOptions(sim, "failing", failing.baseUrl(),
                              "max_retries = 2\nretry_base = \"50ms\"\neject_after = 1\n"
                              "eject_for = \"1500ms\"\n"));
  ASSERT_NE(gateway.port(), 0);
  auto generate = [&](const std::string& prompt) {
    HttpResponse r = httpPostJson(gateway.port(), "/v1/images/generations", body("pair", prompt));
    EXPECT_EQ(r.status, 200) << r.body;
  };
  generate("first");
  int tries = failing.accepted();
  EXPECT_GE(tries, 1) << "the failing upstream is tried first";
  for (int i = 0; i < 3; ++i) {
    generate("ejected " + std::to_string(i));
    EXPECT_EQ(failing.accepted(), tries) << "the ejected upstream is skipped";
  }
  std::this_thread::sleep_for(1600ms);
  generate("probe");
  EXPECT_GT(failing.accepted(), tries) << "after the cooldown one request probes it again";
  tries = failing.accepted();
  generate("ejected again");
  EXPECT_EQ(failing.accepted(), tries);
  EXPECT_EQ(sim.requests(), 6);
}

// A free loopback port: bound, read, released (nothing listens on it afterwards).
uint16_t freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

TEST(Ejection, AnUpstreamThatComesBackIsUsedAgainAfterASuccessfulProbe) {
  Simulator backup;
  uint16_t port = freePort();
  Gateway gateway(pairOptions(backup, "flaky", "http://127.0.0.1:" + std::to_string(port) + "/v1",
                              "max_retries = 1\nretry_base = \"10ms\"\neject_after = 1\n"
                              "eject_for = \"3s\"\n"));
  ASSERT_NE(gateway.port(), 0);
  auto generate = [&](const std::string& prompt) {
    return httpPostJson(gateway.port(), "/v1/images/generations", body("pair", prompt)).status;
  };
  // The cooldown (3 s) covers starting a simulator even on a loaded machine under sanitizers; the
  // probe waits for its end, counted from the ejection.
  EXPECT_EQ(generate("while it is down"), 200);  // fails over to the backup
  auto ejected_at = std::chrono::steady_clock::now();
  EXPECT_EQ(backup.requests(), 1);
  Simulator revived({"--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_EQ(revived.port(), port);
  EXPECT_EQ(generate("still ejected"), 200);
  EXPECT_EQ(revived.requests(), 0) << "skipped during its cooldown";
  EXPECT_LT(std::chrono::steady_clock::now() - ejected_at, 3s) << "checked inside the cooldown";
  std::this_thread::sleep_until(ejected_at + 3s + 100ms);
  EXPECT_EQ(generate("the probe"), 200);
  EXPECT_EQ(revived.requests(), 1) << "the probe went to it and succeeded";
  EXPECT_EQ(generate("back in rotation"), 200);
  EXPECT_EQ(revived.requests(), 2) << "recovered: chosen again (first among equally loaded)";
  EXPECT_EQ(backup.requests(), 2);
}

TEST(Shaping, TheProviderNeverSeesMoreThanMaxConcurrencyAndNobodyGets429) {
  Simulator sim({"--latency-ms", "80"});
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.extra_upstream_toml = "max_concurrency = 2\nmax_queue = 100\n";
  Gateway gateway(options);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&, i] {
      HttpResponse r = httpPostJson(gateway.port(), "/v1/images/generations",
                                    body("gpt-image-1", "shaped " + std::to_string(i)));
      ok += r.status == 200;
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_EQ(sim.requests(), 12);
  EXPECT_LE(simStat(sim, "max_in_flight"), 2);
  EXPECT_EQ(simStat(sim, "max_in_flight"), 2) << "and it is used fully";
}

TEST(Shaping, AFullQueueAnswers429WithRetryAfter) {
  Simulator sim({"--latency-ms", "300"});
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.extra_upstream_toml = "max_concurrency = 1\nmax_queue = 1\n";
  Gateway gateway(options);
  std::atomic<int> ok{0}, limited{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&, i] {
      HttpResponse r = httpPostJson(gateway.port(), "/v1/images/generations",
                                    body("gpt-image-1", "queue " + std::to_string(i)));
      if (r.status == 200) ++ok;
      if (r.status == 429 && !r.header("retry-after").empty()) ++limited;
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_GE(ok.load(), 2);
  EXPECT_GE(limited.load(), 1);
  EXPECT_EQ(ok + limited, 6);
  EXPECT_LE(simStat(sim, "max_in_flight"), 1);
}

// A request that waited its whole queue_timeout for a slot is refused with a 429, and its
// access-log line says how long it waited.
TEST(Shaping, AQueueTimeoutIs429AndItsWaitIsLogged) {
  Simulator sim({"--latency-ms", "1500"});
  TempDir dir;
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.extra_upstream_toml = "max_concurrency = 1\nqueue_timeout = \"400ms\"\n";
  options.log_toml = "access_log = \"" + dir.file("access.log") + "\"\n";
  Gateway gateway(options);
  std::thread holder([&] {
    EXPECT_EQ(
        httpPostJson(gateway.port(), "/v1/images/generations", body("gpt-image-1", "held")).status,
        200);
  });
  std::this_thread::sleep_for(300ms);
  HttpResponse waited =
      httpPostJson(gateway.port(), "/v1/images/generations", body("gpt-image-1", "waited"),
                   {{"x-request-id", "queued-out"}});
  holder.join();
  EXPECT_EQ(waited.status, 429) << waited.body;
  EXPECT_FALSE(waited.header("retry-after").empty());
  int found = 0;
  for (const auto& record : stopAndReadAccessLog(gateway, dir.file("access.log"))) {
    if (record["request_id"] != "queued-out") continue;
    ++found;
    EXPECT_GE(record["queue_ms"].get<double>(), 350.0) << record;
    EXPECT_EQ(record["status"], 429) << record;
  }
  EXPECT_EQ(found, 1);
}

}  // namespace
}  // namespace arkroute::testing
