// Integration: the money features against real processes — virtual keys (401/403, revocation),
// cost and savings headers, the ledger across SIGKILL, budgets under 50 concurrent requests, the
// per-key request rate limit, and the keys/usage CLI with and without a running gateway.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

constexpr const char* kAdminToken = "admin-secret-for-tests";

// Two models at a flat table price, so costs are exact and easy to check.
const char* kPricedModels =
    "[[model]]\nname = \"flat-4c\"\nupstream = \"sim\"\nupstream_model = \"gpt-image-1\"\n"
    "[model.price.per_image]\n\"*\" = { \"*\" = 0.04 }\n"
    "[[model]]\nname = \"flat-1c\"\nupstream = \"sim\"\nupstream_model = \"seedream\"\n"
    "[model.price.per_image]\n\"*\" = { \"*\" = 0.01 }\n";

GatewayOptions keysOptions(const Simulator& sim) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.auth_toml = "mode = \"keys\"\ndefault_budget_usd = 1.0\n";
  options.cache_toml = "enabled = true\n";
  options.models_toml = kPricedModels;
  options.env = {{"ARKROUTE_ADMIN_TOKEN", kAdminToken}};
  return options;
}

std::string bearer(const std::string& token) {
  return "Bearer " + token;
}

nlohmann::json createKey(uint16_t port, const nlohmann::json& spec) {
  HttpCall call;
  call.method = "POST";
  call.path = "/admin/keys";
  call.headers = {{"Authorization", bearer(kAdminToken)}, {"Content-Type", "application/json"}};
  call.body = spec.dump();
  HttpResponse response = httpRequest(port, call);
  EXPECT_EQ(response.status, 201) << response.body;
  return nlohmann::json::parse(response.body, nullptr, false);
}

HttpResponse generate(uint16_t port, const std::string& secret, const std::string& model,
                      const std::string& prompt) {
  nlohmann::json body = {{"model", model}, {"prompt", prompt}};
  return httpPostJson(port, "/v1/images/generations", body.dump(),
                      {{"Authorization", bearer(secret)}});
}

std::string errorCode(const HttpResponse& response) {
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (!json.is_object() || !json.contains("error")) return "";
  return json["error"].value("code", "");
}

nlohmann::json getJson(uint16_t port, const std::string& path, const std::string& token) {
  HttpCall call;
  call.path = path;
  call.headers = {{"Authorization", bearer(token)}};
  HttpResponse response = httpRequest(port, call);
  EXPECT_EQ(response.status, 200) << path << " " << response.body;
  return nlohmann::json::parse(response.body, nullptr, false);
}

TEST(VirtualKeys, MissingUnknownRevokedAndForbiddenModelAreRefused) {
  Simulator sim;
  Gateway gateway(keysOptions(sim));
  ASSERT_NE(gateway.port(), 0);
  nlohmann::json key = createKey(gateway.port(), {{"name", "app"}, {"models", {"flat-1c"}}});
  std::string secret = key.value("secret", "");
  ASSERT_EQ(secret.size(), 4u + 64u) << "ark_ + 32 random bytes in hex";

  EXPECT_EQ(generate(gateway.port(), secret, "flat-1c", "a fox").status, 200);
  HttpResponse none = httpPostJson(gateway.port(), "/v1/images/generations",
                                   R"({"model":"flat-1c","prompt":"a fox"})");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(errorCode(none), "invalid_api_key");
  HttpResponse unknown = generate(gateway.port(), "ark_" + std::string(64, '0'), "flat-1c", "x");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(errorCode(unknown), "invalid_api_key");
  HttpResponse forbidden = generate(gateway.port(), secret, "flat-4c", "a fox");
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(errorCode(forbidden), "model_not_allowed");
  EXPECT_EQ(httpGet(gateway.port(), "/v1/models").status, 401) << "the model list needs a key too";
  auto listed = getJson(gateway.port(), "/v1/models", secret)["data"];
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["id"], "flat-1c") << "only the models the key may use";

  HttpCall revoke;
  revoke.method = "DELETE";
  revoke.path = "/admin/keys/" + key.value("id", "");
  revoke.headers = {{"Authorization", bearer(kAdminToken)}};
  EXPECT_EQ(httpRequest(gateway.port(), revoke).status, 200);
  HttpResponse revoked = generate(gateway.port(), secret, "flat-1c", "a fox");
  EXPECT_EQ(revoked.status, 401);
  EXPECT_NE(revoked.body.find("revoked"), std::string::npos);
  EXPECT_EQ(sim.requests(), 1) << "refused requests never reach the provider";

  auto list = getJson(gateway.port(), "/admin/keys", kAdminToken);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_TRUE(list["data"][0]["revoked"].get<bool>());
  EXPECT_EQ(list.dump().find(secret), std::string::npos) << "the secret is never listed";
  EXPECT_EQ(list.dump().find("secret_sha256"), std::string::npos);
}

TEST(Ledger, CostSavingsAndTotalsSurviveSigkill) {
  Simulator sim;
  Gateway gateway(keysOptions(sim));
  ASSERT_NE(gateway.port(), 0);
  std::string secret = createKey(gateway.port(), {{"name", "ledger"}}).value("secret", "");

  HttpResponse miss = generate(gateway.port(), secret, "flat-4c", "a lighthouse");
  ASSERT_EQ(miss.status, 200);
  EXPECT_EQ(miss.header("x-arkroute-cost-usd"), "0.040000");
  EXPECT_EQ(miss.header("x-arkroute-model"), "flat-4c");
  HttpResponse hit = generate(gateway.port(), secret, "flat-4c", "a lighthouse");
  ASSERT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(hit.header("x-arkroute-cost-usd"), "0.000000");
  EXPECT_EQ(hit.header("x-arkroute-saved-usd"), "0.040000");
  ASSERT_EQ(generate(gateway.port(), secret, "flat-1c", "a harbour").status, 200);

  auto check = [&](const nlohmann::json& usage) {
    const auto& totals = usage["totals"];
    EXPECT_EQ(totals["requests"].get<int>(), 3);
    EXPECT_EQ(totals["images"].get<int>(), 3);
    EXPECT_EQ(totals["cache_hits"].get<int>(), 1);
    EXPECT_NEAR(totals["cost_usd"].get<double>(), 0.05, 1e-9);
    EXPECT_NEAR(totals["saved_usd"].get<double>(), 0.04, 1e-9);
  };
  auto own = getJson(gateway.port(), "/v1/usage", secret);
  check(own);
  EXPECT_NEAR(own["key"]["remaining_usd"].get<double>(), 0.95, 1e-9);
  std::this_thread::sleep_for(100ms);  // rows are written at most 10 ms after a request finished
  gateway.process().signal(SIGKILL);
  EXPECT_EQ(gateway.process().waitExit(5s), 128 + SIGKILL);
  gateway.restart(SIGTERM);
  ASSERT_NE(gateway.port(), 0);
  check(getJson(gateway.port(), "/admin/usage", kAdminToken));
  check(getJson(gateway.port(), "/v1/usage", secret));
}

TEST(Ledger, TokenPricedModelsAreChargedExactlyFromUsage) {
  Simulator sim;
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.models_toml =
      "[[model]]\nname = \"gpt-image-1\"\nupstream = \"sim\"\n"
      "[model.price]\ntext_input_per_million = 5.0\nimage_input_per_million = 10.0\n"
      "image_output_per_million = 40.0\n[model.price.per_image]\n\"*\" = { \"*\" = 0.5 }\n";
  Gateway gateway(options);  // cache disabled: the response streams through uncaptured
  ASSERT_NE(gateway.port(), 0);
  std::string request = R"({"model":"gpt-image-1","prompt":"exact cost","quality":"high"})";
  HttpResponse truth = httpPostJson(sim.port(), "/v1/images/generations", request);
  auto usage = nlohmann::json::parse(truth.body)["usage"];
  double expected = usage["input_tokens_details"]["text_tokens"].get<double>() * 5.0 / 1e6 +
                    usage["output_tokens"].get<double>() * 40.0 / 1e6;
  HttpResponse served = httpPostJson(gateway.port(), "/v1/images/generations", request);
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(served.header("x-arkroute-cost-usd"), "0.500000")
      << "headers precede the body: the table estimate";
  HttpCall call;
  call.path = "/v1/usage";
  auto totals = nlohmann::json::parse(httpRequest(gateway.port(), call).body)["totals"];
  EXPECT_NEAR(totals["cost_usd"].get<double>(), expected, 1e-12) << "the ledger has the exact cost";
  EXPECT_GT(expected, 0.1);
}

TEST(Budgets, FiftyConcurrentRequestsNeverOverspendByMoreThanOneRequest) {
  Simulator sim({"--latency-ms", "150"});
  Gateway gateway(keysOptions(sim));
  ASSERT_NE(gateway.port(), 0);
  // $0.10 at $0.04 a request: 2 fit, a third would overspend.
  std::string secret =
      createKey(gateway.port(), {{"name", "tight"}, {"budget_usd", 0.10}}).value("secret", "");
  std::atomic<int> ok{0}, quota{0}, other{0};
  std::atomic<int> served_prompt{-1};
  std::vector<std::thread> clients;
  for (int i = 0; i < 50; ++i) {
    clients.emplace_back([&, i] {
      HttpResponse r = generate(gateway.port(), secret, "flat-4c", "burst " + std::to_string(i));
      if (r.status == 200) {
        ++ok;
        served_prompt = i;
      } else if (r.status == 429 && errorCode(r) == "insufficient_quota") {
        ++quota;
      } else {
        ++other;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(quota.load(), 48);
  EXPECT_EQ(sim.requests(), 2) << "refused requests are never sent upstream";
  auto usage = getJson(gateway.port(), "/v1/usage", secret);
  EXPECT_LE(usage["key"]["spent_usd"].get<double>(), 0.10 + 0.04 + 1e-9);
  // A cached generation is still served at a balance too small for another miss.
  HttpResponse cached =
      generate(gateway.port(), secret, "flat-4c", "burst " + std::to_string(served_prompt.load()));
  EXPECT_EQ(cached.status, 200) << cached.body;
  EXPECT_EQ(cached.header("x-arkroute-cache"), "HIT");
  HttpResponse fresh = generate(gateway.port(), secret, "flat-4c", "a new prompt");
  EXPECT_EQ(fresh.status, 429);
  EXPECT_EQ(sim.requests(), 2);
}

// gpt-image-1 at quality "auto" may be made at "high" and settle from its usage at about twice
// the table's auto price: the budget holds back the token estimate, so a burst stays within it.
TEST(Budgets, ATokenPricedModelReservesWhatItsUsageMayCost) {
  Simulator sim({"--latency-ms", "300"});
  GatewayOptions options = keysOptions(sim);
  options.models_toml =
      "[[model]]\nname = \"gpt-image-1\"\nupstream = \"sim\"\n[model.price]\n"
      "text_input_per_million = 5.0\nimage_input_per_million = 10.0\n"
      "image_output_per_million = 40.0\n[model.price.per_image]\nauto = { \"*\" = 0.084 }\n";
  Gateway gateway(options);
  std::string secret =
      createKey(gateway.port(), {{"name", "tokens"}, {"budget_usd", 0.50}}).value("secret", "");
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&, i] {
      ok += generate(gateway.port(), secret, "gpt-image-1", "tokens " + std::to_string(i)).status ==
            200;
    });
  }
  for (auto& client : clients) client.join();
  double spent = getJson(gateway.port(), "/v1/usage", secret)["key"]["spent_usd"].get<double>();
  EXPECT_GE(ok.load(), 1);
  EXPECT_LE(spent, 0.50 + 1e-9) << ok.load() << " served";
}

// A Seedream set (sequential_image_generation "auto") may make up to max_images images, each
// billed: the budget and the images-per-minute allowance count it at that, not at one.
TEST(Budgets, ASeedreamSetCountsAsTheImagesItMayMake) {
  Simulator sim;
  GatewayOptions options = keysOptions(sim);
  std::string base = sim.baseUrl();  // http://127.0.0.1:PORT/v1
  options.upstream_base_url = base.substr(0, base.size() - 3) + "/seedream/v1";
  options.extra_upstream_toml = "api = \"seedream\"\n";
  options.models_toml =
      "[[model]]\nname = \"seedream-4.5\"\nupstream = \"sim\"\n"
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.01 }\n";
  Gateway gateway(options);
  auto set = [&](const std::string& secret, const std::string& prompt) {
    nlohmann::json body = {{"model", "seedream-4.5"},
                           {"prompt", prompt},
                           {"response_format", "b64_json"},
                           {"sequential_image_generation", "auto"},
                           {"sequential_image_generation_options", {{"max_images", 4}}}};
    return httpPostJson(gateway.port(), "/v1/images/generations", body.dump(),
                        {{"Authorization", bearer(secret)}});
  };
  std::string budget =
      createKey(gateway.port(), {{"name", "sets"}, {"budget_usd", 0.05}}).value("secret", "");
  EXPECT_EQ(set(budget, "first set").status, 200);
  HttpResponse second = set(budget, "second set");
  EXPECT_EQ(second.status, 429) << second.body;
  EXPECT_EQ(errorCode(second), "insufficient_quota");
  EXPECT_EQ(second.header("x-should-retry"), "false") << "nothing in flight: no retry can fit";
  EXPECT_NEAR(getJson(gateway.port(), "/v1/usage", budget)["key"]["spent_usd"].get<double>(), 0.04,
              1e-9);
  std::string paced =
      createKey(gateway.port(), {{"name", "paced"}, {"images_per_min", 4}}).value("secret", "");
  EXPECT_EQ(set(paced, "paced set").status, 200);
  HttpResponse over = set(paced, "paced set 2");
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(errorCode(over), "rate_limit_exceeded");
}

// The set fields mean nothing to other providers: a gpt-image-1 request that carries them is one
// image, held back and counted as one.
TEST(Budgets, SetFieldsCountOnlyForASeedreamUpstream) {
  Simulator sim;
  Gateway gateway(keysOptions(sim));
  std::string secret =
      createKey(gateway.port(), {{"name", "one"}, {"budget_usd", 0.05}}).value("secret", "");
  nlohmann::json body = {
      {"model", "flat-4c"}, {"prompt", "not a set"}, {"sequential_image_generation", "auto"}};
  HttpResponse one = httpPostJson(gateway.port(), "/v1/images/generations", body.dump(),
                                  {{"Authorization", bearer(secret)}});
  EXPECT_EQ(one.status, 200) << one.body;
}

// The provider has the request once it is sent, and bills the images whether or not the client
// stays for them: a client that leaves before the answer is charged the estimate, so leaving early
// is no way around a budget. (Not stored, so no writer finishes the generation in the background.)
TEST(Budgets, AClientThatLeavesBeforeTheAnswerIsChargedTheEstimate) {
  Simulator sim({"--latency-ms", "800"});
  Gateway gateway(keysOptions(sim));
  ASSERT_NE(gateway.port(), 0);
  std::string secret = createKey(gateway.port(), {{"name", "leaver"}}).value("secret", "");
  EXPECT_TRUE(postThenLeave(
      gateway.port(), "/v1/images/generations",
      R"({"model":"flat-4c","prompt":"left before the answer"})",
      [&] { return sim.requests() >= 1; },
      "Authorization: " + bearer(secret) + "\r\nCache-Control: no-store\r\n"))
      << "the provider had the request";
  nlohmann::json usage;  // the gateway notices the close, then writes the row: wait (bounded)
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
    usage = getJson(gateway.port(), "/v1/usage", secret);
    if (usage["totals"]["requests"] == 1) break;
  }
  EXPECT_NEAR(usage["totals"]["cost_usd"].get<double>(), 0.04, 1e-9) << usage.dump();
  EXPECT_EQ(usage["totals"]["images"].get<int>(), 0) << "none delivered";
  EXPECT_NEAR(usage["key"]["remaining_usd"].get<double>(), 0.96, 1e-9);
}

TEST(RateLimits, RequestsPerMinuteAnswer429WithRetryAfterAndHeaders) {
  Simulator sim;
  Gateway gateway(keysOptions(sim));
  ASSERT_NE(gateway.port(), 0);
  std::string secret =
      createKey(gateway.port(), {{"name", "slow"}, {"rpm", 3}}).value("secret", "");
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = generate(gateway.port(), secret, "flat-1c", "same prompt");
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.header("x-ratelimit-limit-requests"), "3");
    EXPECT_EQ(r.header("x-ratelimit-remaining-requests"), std::to_string(2 - i));
    EXPECT_FALSE(r.header("x-ratelimit-reset-requests").empty());
  }
  HttpResponse limited = generate(gateway.port(), secret, "flat-1c", "same prompt");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(errorCode(limited), "rate_limit_exceeded");
  int retry_after = std::atoi(limited.header("retry-after").c_str());
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 20) << "one request per 20 s comes back";
  EXPECT_NE(limited.body.find("Try again in " + std::to_string(retry_after) + " s"),
            std::string::npos)
      << "an agent that sees only the message is told the wait: " << limited.body;
  EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "0");
}

// A request for more images than the key may make in a whole minute waits in vain: no
// retry-after, and x-should-retry: false so that the SDKs do not retry it until they give up.
TEST(RateLimits, MoreImagesThanAMinuteAllowsIsRefusedForGood) {
  Simulator sim;
  Gateway gateway(keysOptions(sim));
  ASSERT_NE(gateway.port(), 0);
  std::string secret =
      createKey(gateway.port(), {{"name", "two"}, {"images_per_min", 2}}).value("secret", "");
  nlohmann::json body = {{"model", "flat-1c"}, {"prompt", "three at once"}, {"n", 3}};
  HttpResponse refused = httpPostJson(gateway.port(), "/v1/images/generations", body.dump(),
                                      {{"Authorization", bearer(secret)}});
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(errorCode(refused), "rate_limit_exceeded");
  EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["param"], "n");
  EXPECT_EQ(refused.header("x-should-retry"), "false");
  EXPECT_EQ(refused.header("retry-after"), "");
  EXPECT_EQ(sim.requests(), 0);
  body["n"] = 2;
  EXPECT_EQ(httpPostJson(gateway.port(), "/v1/images/generations", body.dump(),
                         {{"Authorization", bearer(secret)}})
                .status,
            200);
}

std::string secretFrom(const std::string& cli_output) {
  size_t at = cli_output.find("ark_");
  return at == std::string::npos ? "" : cli_output.substr(at, 68);
}

TEST(KeysCli, CreatesKeysOfflineAndThroughARunningGatewayAndPrintsUsage) {
  Simulator sim;
  GatewayOptions options = keysOptions(sim);
  Gateway gateway(options);
  ASSERT_NE(gateway.port(), 0);
  const std::string env = std::string("ARKROUTE_ADMIN_TOKEN=") + kAdminToken;
  // The gateway holds the database: the CLI goes through its admin API.
  int rc = -1;
  std::string online = runCli(
      {"keys", "create", "--name", "online", "--budget-usd", "2", "--url",
       "http://127.0.0.1:" + std::to_string(gateway.port()), "--config", gateway.configPath()},
      env, &rc);
  ASSERT_EQ(rc, 0) << online;
  std::string online_secret = secretFrom(online);
  ASSERT_EQ(online_secret.size(), 68u) << online;
  EXPECT_EQ(generate(gateway.port(), online_secret, "flat-1c", "cli").status, 200);

  gateway.process().signal(SIGTERM);
  ASSERT_EQ(gateway.process().waitExit(15s), 0);
  std::string offline = runCli(
      {"keys", "create", "--name", "offline", "--rpm", "5", "--config", gateway.configPath()}, "",
      &rc);
  ASSERT_EQ(rc, 0) << offline;
  // JSON text carries only UTF-8: such a name is refused, not a crash (it aborted before).
  std::string bad_name =
      runCli({"keys", "create", "--name", "caf\xe9", "--config", gateway.configPath()}, "", &rc);
  EXPECT_EQ(rc, 2) << bad_name;
  EXPECT_NE(bad_name.find("--name must be UTF-8 text"), std::string::npos) << bad_name;
  // nan or inf would be stored as null, which is "no budget": refused, not a key without limit.
  for (const char* budget : {"nan", "inf", "-1"}) {
    std::string refused = runCli({"keys", "create", "--name", "odd", "--budget-usd", budget,
                                  "--config", gateway.configPath()},
                                 "", &rc);
    EXPECT_EQ(rc, 2) << budget << ": " << refused;
    EXPECT_NE(refused.find("--budget-usd takes a non-negative number"), std::string::npos)
        << refused;
  }
  // 1970-01-01 is day 0, which meant "never expires".
  std::string day_zero = runCli({"keys", "create", "--name", "odd", "--expires", "1970-01-01",
                                 "--config", gateway.configPath()},
                                "", &rc);
  EXPECT_EQ(rc, 2) << day_zero;
  EXPECT_NE(day_zero.find("'expires' must be a date after 1970-01-01"), std::string::npos)
      << day_zero;
  std::string listed = runCli({"keys", "list", "--config", gateway.configPath()}, "", &rc);
  EXPECT_NE(listed.find("online"), std::string::npos) << listed;
  EXPECT_NE(listed.find("offline"), std::string::npos) << listed;
  std::string usage = runCli({"usage", "--config", gateway.configPath()}, "", &rc);
  EXPECT_EQ(rc, 0) << usage;
  EXPECT_NE(usage.find("flat-1c"), std::string::npos) << usage;
  EXPECT_NE(usage.find("The same 1 images on each configured model"), std::string::npos) << usage;
  EXPECT_NE(usage.find("flat-4c"), std::string::npos) << "the comparison lists every model";
  runCli({"usage", "--since", "not-a-date", "--config", gateway.configPath()}, "", &rc);
  EXPECT_EQ(rc, 2);

  gateway.restart(SIGTERM);
  ASSERT_NE(gateway.port(), 0);
  EXPECT_EQ(generate(gateway.port(), secretFrom(offline), "flat-1c", "cli 2").status, 200);
}

TEST(KeysCli, AnAdminAddressThatAnswersSomethingElseIsAnErrorNotACrash) {
  // A web server that answers one request with a 200 HTML page.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::thread web([listener] {
    pollfd waiting{listener, POLLIN, 0};
    if (poll(&waiting, 1, 10000) != 1) return;  // the CLI never came: its checks below fail
    int client = accept(listener, nullptr, nullptr);
    char request[4096];
    (void)!read(client, request, sizeof request);
    std::string page = "<html>hello</html>";
    std::string answer = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                         std::to_string(page.size()) + "\r\n\r\n" + page;
    (void)!write(client, answer.data(), answer.size());
    close(client);
  });
  TempDir dir;
  std::string config = dir.path() + "/cli.toml";
  writeFile(config, "[cache]\npath = \"" + dir.file("no-database") +
                        "\"\n[[upstream]]\nname = \"sim\"\n"
                        "base_url = \"http://127.0.0.1:9/v1\"\n[[model]]\nname = \"m\"\n"
                        "upstream = \"sim\"\n");
  int rc = 0;
  std::string listed =
      runCli({"keys", "list", "--url",
              "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)), "--config", config},
             "ARKROUTE_ADMIN_TOKEN=t", &rc);
  web.join();
  close(listener);
  EXPECT_EQ(rc, 1) << listed;  // it aborted on a JSON type error (exit 134) before
  EXPECT_NE(listed.find("answered 200 with a body that is not JSON"), std::string::npos) << listed;
}

// On a server the provider keys are the service's alone (a systemd credential, its environment
// file): the key commands, run from a shell, need none of them. A gateway on IPv6 is reached.
bool hasIpv6Loopback() {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_addr = in6addr_loopback;
  bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

TEST(KeysCli, ReachesAGatewayOnIpv6WithoutTheProvidersKeys) {
  if (!hasIpv6Loopback()) GTEST_SKIP() << "this machine has no IPv6 loopback";
  Simulator sim;
  TempDir dir;
  writeFile(dir.file("openai"), "sk-only-the-service-has-this\n");
  std::string config = dir.file("cli.toml");
  writeFile(config,
            "[server]\nlisten = \"[::1]:0\"\nworkers = 1\n[auth]\nmode = \"keys\"\n"
            "[cache]\npath = \"" +
                dir.file("db") +
                "\"\n[log]\naccess_log = \"off\"\n"
                "[[upstream]]\nname = \"sim\"\nbase_url = \"" +
                sim.baseUrl() +
                "\"\napi_key_file = \"openai\"\n[[upstream]]\nname = \"other\"\n"
                "base_url = \"" +
                sim.baseUrl() + "\"\napi_key_env = \"OTHER_KEY\"\n" + kPricedModels);
  ChildProcess gateway({ARKROUTE_BIN, "serve", "--config", config},
                       {{"CREDENTIALS_DIRECTORY", dir.path()},
                        {"OTHER_KEY", "sk-other"},
                        {"ARKROUTE_ADMIN_TOKEN", kAdminToken}});
  uint16_t port = gateway.waitListening();
  ASSERT_NE(port, 0) << readFile(gateway.stderrPath());
  int rc = -1;
  std::string env = std::string("ARKROUTE_ADMIN_TOKEN=") + kAdminToken;
  std::string created = runCli({"keys", "create", "--name", "v6", "--url",
                                "http://[::1]:" + std::to_string(port) + "/", "--config", config},
                               env, &rc);
  EXPECT_EQ(rc, 0) << created;
  EXPECT_EQ(secretFrom(created).size(), 68u) << created;
  std::string listed =
      runCli({"keys", "list", "--url", "http://[::1]:" + std::to_string(port), "--config", config},
             env, &rc);
  EXPECT_EQ(rc, 0) << listed;
  EXPECT_NE(listed.find("v6"), std::string::npos) << listed;
  // A name is not an address: said, never guessed at.
  std::string named =
      runCli({"keys", "list", "--url", "http://localhost:1", "--config", config}, env, &rc);
  EXPECT_NE(rc, 0) << named;
  EXPECT_NE(named.find("--url must look like"), std::string::npos) << named;
}

}  // namespace
}  // namespace arkroute::testing
