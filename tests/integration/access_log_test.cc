// Integration: the JSON access log written by a real gateway to a file — one line per request
// (generations, the models list, 404s), the right fields for a MISS then a HIT, and never a prompt,
// a provider key, the client's Authorization or image data unless log.prompts asks for prompts.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

const char* kProviderKey = "sk-provider-ACCESSLOG-4f1e";
const char* kClientToken = "Bearer sk-client-ACCESSLOG-9a7c";
const char* kPrompt = "a purple elephant juggling QX17-accesslog-marker";

std::string sha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  for (unsigned char byte : digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

GatewayOptions loggingGateway(const Simulator& sim, const std::string& log_path,
                              bool prompts = false) {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  options.log_toml =
      "access_log = \"" + log_path + "\"\nprompts = " + (prompts ? "true" : "false") + "\n";
  options.extra_upstream_toml = "api_key_env = \"SIM_PROVIDER_KEY\"\n";
  options.env = {{"SIM_PROVIDER_KEY", kProviderKey}};
  options.extra_toml =
      "[[model]]\nname = \"priced\"\nupstream = \"sim\"\n"
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.04 }\n";
  return options;
}

// Stops the gateway (SIGTERM drains and writes out the log), then parses every line by id.
std::map<std::string, json> stopAndReadLog(Gateway& gateway, const std::string& path,
                                           std::string* raw) {
  gateway.process().signal(SIGTERM);
  EXPECT_EQ(gateway.process().waitExit(15s), 0);
  *raw = readFile(path);
  std::map<std::string, json> by_id;
  std::istringstream lines(*raw);
  std::string line;
  while (std::getline(lines, line)) {
    json parsed = json::parse(line, nullptr, false);
    EXPECT_TRUE(parsed.is_object()) << "not one JSON object per line: " << line;
    if (parsed.is_object()) by_id[parsed["request_id"].get<std::string>()] = parsed;
  }
  return by_id;
}

TEST(AccessLog, MissThenHitLinesAreRightAndCarryNoSecretsOrPayloads) {
  Simulator sim;
  TempDir dir;
  const std::string log_path = dir.file("access.log");
  Gateway gateway(loggingGateway(sim, log_path));
  const std::string body = std::string(R"({"model":"priced","prompt":")") + kPrompt + R"("})";
  HttpResponse miss = httpPostJson(gateway.port(), "/v1/images/generations", body,
                                   {{"Authorization", kClientToken}, {"x-request-id", "al-miss"}});
  HttpResponse hit = httpPostJson(gateway.port(), "/v1/images/generations", body,
                                  {{"Authorization", kClientToken}, {"x-request-id", "al-hit"}});
  ASSERT_EQ(miss.header("x-arkroute-cache"), "MISS") << miss.body;
  ASSERT_EQ(hit.header("x-arkroute-cache"), "HIT");
  HttpCall models;
  models.path = "/v1/models";
  models.headers = {{"x-request-id", "al-models"}};
  ASSERT_EQ(httpRequest(gateway.port(), models).status, 200);
  HttpCall missing;
  missing.path = "/not/here";
  missing.headers = {{"x-request-id", "al-404"}, {"Authorization", kClientToken}};
  ASSERT_EQ(httpRequest(gateway.port(), missing).status, 404);
  std::string b64 = json::parse(miss.body)["data"][0]["b64_json"].get<std::string>();

  std::string raw;
  auto lines = stopAndReadLog(gateway, log_path, &raw);
  ASSERT_EQ(lines.size(), 4u) << raw;
  const json& m = lines["al-miss"];
  const json& h = lines["al-hit"];
  EXPECT_TRUE(std::regex_match(m["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << m["time"];
  EXPECT_EQ(m["method"], "POST");
  EXPECT_EQ(m["path"], "/v1/images/generations");
  EXPECT_EQ(m["status"], 200);
  EXPECT_EQ(m["model"], "priced");
  EXPECT_EQ(m["upstream"], "sim");
  EXPECT_EQ(m["cache"], "MISS");
  EXPECT_EQ(m["cost_usd"], 0.04);
  EXPECT_TRUE(m["saved_usd"].is_null());
  EXPECT_TRUE(m["key"].is_null());  // open mode: no virtual key
  EXPECT_TRUE(m["error"].is_null());
  EXPECT_EQ(m["prompt_sha256"], sha256Hex(kPrompt));
  EXPECT_EQ(m["bytes_in"], body.size());
  EXPECT_EQ(m["bytes_out"], miss.body.size());
  EXPECT_GT(m["upstream_ms"].get<double>(), 0);
  EXPECT_GE(m["total_ms"].get<double>(), m["upstream_ms"].get<double>());
  EXPECT_EQ(h["cache"], "HIT");
  EXPECT_EQ(h["status"], 200);
  EXPECT_TRUE(h["upstream"].is_null());
  EXPECT_EQ(h["cost_usd"], 0.0);
  EXPECT_EQ(h["saved_usd"], 0.04);
  EXPECT_EQ(h["upstream_ms"], 0.0);
  EXPECT_EQ(h["prompt_sha256"], sha256Hex(kPrompt));
  EXPECT_EQ(h["bytes_out"], hit.body.size());
  EXPECT_EQ(lines["al-models"]["path"], "/v1/models");
  EXPECT_EQ(lines["al-models"]["status"], 200);
  EXPECT_TRUE(lines["al-models"]["model"].is_null());
  EXPECT_GT(lines["al-models"]["bytes_out"].get<int>(), 0);
  EXPECT_EQ(lines["al-404"]["status"], 404);
  EXPECT_EQ(lines["al-404"]["method"], "GET");
  EXPECT_EQ(lines["al-404"]["outcome"], "client_error");
  EXPECT_EQ(lines["al-404"]["error"], "unknown_url");

  EXPECT_EQ(raw.find("purple elephant"), std::string::npos) << "the prompt leaked";
  EXPECT_EQ(raw.find("QX17"), std::string::npos) << "the prompt leaked";
  EXPECT_EQ(raw.find("ACCESSLOG-4f1e"), std::string::npos) << "the provider key leaked";
  EXPECT_EQ(raw.find("ACCESSLOG-9a7c"), std::string::npos) << "the client's token leaked";
  EXPECT_EQ(raw.find("Bearer"), std::string::npos);
  EXPECT_EQ(raw.find("b64_json"), std::string::npos);
  EXPECT_EQ(raw.find(b64.substr(0, 32)), std::string::npos) << "image data leaked";
  EXPECT_EQ(raw.find(b64.substr(b64.size() / 2, 32)), std::string::npos) << "image data leaked";
}

TEST(AccessLog, PromptsAreLoggedOnlyWhenConfigured) {
  Simulator sim;
  TempDir dir;
  const std::string log_path = dir.file("access.log");
  Gateway gateway(loggingGateway(sim, log_path, /*prompts=*/true));
  const std::string body = std::string(R"({"model":"gpt-image-1","prompt":")") + kPrompt + R"("})";
  ASSERT_EQ(
      httpPostJson(gateway.port(), "/v1/images/generations", body, {{"x-request-id", "al-prompt"}})
          .status,
      200);
  std::string raw;
  auto lines = stopAndReadLog(gateway, log_path, &raw);
  ASSERT_EQ(lines.count("al-prompt"), 1u) << raw;
  EXPECT_EQ(lines["al-prompt"]["prompt"], kPrompt);
  EXPECT_TRUE(lines["al-prompt"]["cost_usd"].is_null()) << "gpt-image-1 has no price here";
  EXPECT_EQ(raw.find(kProviderKey), std::string::npos);
}

// A provider's error answer, passed on to the client, is the provider's: its line says
// upstream_error and the code in the provider's body, 4xx (moderation) as 5xx.
TEST(AccessLog, ProviderErrorAnswersAreLoggedAsUpstreamErrorsWithTheirCode) {
  Simulator sim;
  TempDir dir;
  const std::string log_path = dir.file("access.log");
  GatewayOptions options = loggingGateway(sim, log_path);
  options.extra_upstream_toml += "max_retries = 0\n";
  Gateway gateway(options);
  const std::string body = R"({"model":"gpt-image-1","prompt":"an error, logged"})";
  for (const auto& [fault, status] :
       {std::pair<std::string, int>{"moderation", 400}, {"500", 500}, {"429", 429}}) {
    EXPECT_EQ(httpPostJson(gateway.port(), "/v1/images/generations", body,
                           {{"x-sim-fault", fault}, {"x-request-id", "al-" + fault}})
                  .status,
              status);
  }
  std::string raw;
  auto lines = stopAndReadLog(gateway, log_path, &raw);
  for (const auto& [fault, code] :
       {std::pair<std::string, std::string>{"moderation", "moderation_blocked"},
        {"500", "server_error"},
        {"429", "rate_limit_exceeded"}}) {
    ASSERT_EQ(lines.count("al-" + fault), 1u) << raw;
    EXPECT_EQ(lines["al-" + fault]["outcome"], "upstream_error") << fault;
    EXPECT_EQ(lines["al-" + fault]["error"], code) << fault;
  }
}

// A client that leaves before its answer, while the generation goes on for the cache: its line
// says it left (status 0, client_gone) and what it was charged, not a 200 nobody received.
TEST(AccessLog, AClientThatLeftWhileItsGenerationWentOnForTheCacheIsLoggedAsGone) {
  Simulator sim;
  TempDir dir;
  const std::string log_path = dir.file("access.log");
  Gateway gateway(loggingGateway(sim, log_path));
  const std::string body = R"({"model":"priced","prompt":"left early"})";
  int fd = sendGenerationAndStay(gateway.port(), body,
                                 "X-Request-Id: gone-1\r\nx-sim-latency-ms: 600\r\n");
  ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(200ms);
  close(fd);
  HttpResponse later;
  for (int i = 0; i < 50 && later.header("x-arkroute-cache") != "HIT"; ++i) {
    std::this_thread::sleep_for(100ms);
    later = httpPostJson(gateway.port(), "/v1/images/generations", body);
  }
  EXPECT_EQ(later.header("x-arkroute-cache"), "HIT") << "the generation went on and was stored";
  std::string raw;
  auto lines = stopAndReadLog(gateway, log_path, &raw);
  ASSERT_EQ(lines.count("gone-1"), 1u) << raw;
  EXPECT_EQ(lines["gone-1"]["status"], 0) << raw;
  EXPECT_EQ(lines["gone-1"]["outcome"], "client_gone") << raw;
  EXPECT_EQ(lines["gone-1"]["bytes_out"], 0) << raw;
  EXPECT_DOUBLE_EQ(lines["gone-1"]["cost_usd"].get<double>(), 0.04) << raw;
}

// The images and cost of an answer that passes through uncached are the images it delivered, not
// the n asked for: fewer images cost less, none (or a stream that ends on an error) cost nothing.
TEST(AccessLog, UncachedAnswersCountAndChargeTheImagesDelivered) {
  Simulator sim;
  TempDir dir;
  const std::string log_path = dir.file("access.log");
  Gateway gateway(loggingGateway(sim, log_path));
  struct Case {
    std::string id, body, fault;
  };
  const std::vector<Case> cases = {
      {"asked-3", R"({"model":"priced","prompt":"three","n":3})", ""},
      {"got-1", R"({"model":"priced","prompt":"three","n":3})", "one-image"},
      {"got-0", R"({"model":"priced","prompt":"three","n":3})", "no-images"},
      {"stream-1", R"({"model":"priced","prompt":"s","n":2,"stream":true})", "one-image"},
      {"stream-0", R"({"model":"priced","prompt":"s","n":2,"stream":true})", "no-images"}};
  for (const Case& c : cases) {
    std::vector<std::pair<std::string, std::string>> headers = {{"Cache-Control", "no-store"},
                                                                {"x-request-id", c.id}};
    if (!c.fault.empty()) headers.push_back({"x-sim-fault", c.fault});
    HttpResponse answer =
        httpPostJson(gateway.port(), "/v1/images/generations", c.body, std::move(headers));
    EXPECT_EQ(answer.status, 200) << c.id << answer.body;
  }
  std::string raw;
  auto lines = stopAndReadLog(gateway, log_path, &raw);
  const std::map<std::string, int> delivered = {
      {"asked-3", 3}, {"got-1", 1}, {"got-0", 0}, {"stream-1", 1}, {"stream-0", 0}};
  for (const auto& [id, images] : delivered) {
    ASSERT_EQ(lines.count(id), 1u) << raw;
    EXPECT_EQ(lines[id]["images"], images) << lines[id];
    EXPECT_DOUBLE_EQ(lines[id]["cost_usd"].get<double>(), 0.04 * images) << lines[id];
    EXPECT_EQ(lines[id]["outcome"], images > 0 ? "ok" : "upstream_error") << lines[id];
  }
}

// log.prompts applies per request, so a reload turns it on (it was read once at start before).
TEST(AccessLog, AReloadTurnsPromptLoggingOn) {
  Simulator sim;
  TempDir dir;
  const std::string log_path = dir.file("access.log");
  Gateway gateway(loggingGateway(sim, log_path));
  const std::string body = std::string(R"({"model":"gpt-image-1","prompt":")") + kPrompt + R"("})";
  auto post = [&](const std::string& id) {
    return httpPostJson(gateway.port(), "/v1/images/generations", body, {{"x-request-id", id}});
  };
  ASSERT_EQ(post("al-before").status, 200);
  std::string config = readFile(gateway.configPath());
  config.replace(config.find("prompts = false"), 15, "prompts = true");
  writeFile(gateway.configPath(), config);
  gateway.process().signal(SIGHUP);
  for (int i = 0; i < 100 && readFile(gateway.process().stderrPath()).find("arkroute: reloaded") ==
                                 std::string::npos;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(post("al-after").status, 200);
  std::string raw;
  auto lines = stopAndReadLog(gateway, log_path, &raw);
  ASSERT_EQ(lines.count("al-before"), 1u) << raw;
  ASSERT_EQ(lines.count("al-after"), 1u) << raw;
  EXPECT_FALSE(lines["al-before"].contains("prompt"));
  EXPECT_EQ(lines["al-after"]["prompt"], kPrompt);
}

}  // namespace
}  // namespace arkroute::testing
