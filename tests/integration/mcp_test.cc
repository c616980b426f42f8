// The MCP endpoint over real loopback sockets: Streamable HTTP status rules, generate_image through
// the real pipeline and simulator (miss then cache hit, upstream failure as a tool error),
// edit_image on a generated image by its gateway URL (and on base64), the [mcp] switch, and the
// stdio bridge (in-process, against the running gateway).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/harness.h"
#include "integration/mcp_client.h"
#include "proxy/http/multipart_form.h"
#include "proxy/mcp/stdio_bridge.h"
#include "tests/sim/png.h"

namespace arkroute::testing {
namespace {

GatewayOptions mcpGateway(const Simulator& sim, const std::string& extra = "") {
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  options.extra_toml =
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.01 }\n\n"
      "[[upstream]]\nname = \"dead\"\nbase_url = \"http://127.0.0.1:1/v1\"\n"
      "connect_timeout = \"2s\"\n\n"
      "[[model]]\nname = \"broken\"\nupstream = \"dead\"\n\n";
  const std::string auth = "[auth]\n";  // the harness writes [auth] itself
  if (extra.starts_with(auth)) {
    options.auth_toml = extra.substr(auth.size());
  } else {
    options.extra_toml += extra;
  }
  return options;
}

TEST(McpHttp, TransportRulesOverRealSockets) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  uint16_t port = gateway.port();
  std::string session = openSession(port);
  std::string ping = R"({"jsonrpc":"2.0","id":2,"method":"ping"})";

  EXPECT_EQ(mcpCall(port, "POST", ping, jsonHeaders(session)).status, 200);
  HttpResponse get = mcpCall(port, "GET", "", {{"Accept", "text/event-stream"}});
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("allow"), "POST, DELETE, OPTIONS");
  EXPECT_EQ(
      mcpCall(port, "POST", ping, {{"Content-Type", "application/json"}, {"Accept", "text/html"}})
          .status,
      406);
  EXPECT_EQ(
      mcpCall(port, "POST", ping, {{"Content-Type", "text/plain"}, {"Accept", "application/json"}})
          .status,
      415);
  Headers evil = jsonHeaders(session);
  evil.emplace_back("Origin", "http://attacker.example");
  EXPECT_EQ(mcpCall(port, "POST", ping, evil).status, 403);
  const std::string own_origin = "http://127.0.0.1:" + std::to_string(port);
  Headers own = jsonHeaders(session);
  own.emplace_back("Origin", own_origin);
  HttpResponse allowed = mcpCall(port, "POST", ping, own);
  EXPECT_EQ(allowed.status, 200);
  // A browser reads the answer only when told its origin may (CORS), after a preflight.
  EXPECT_EQ(allowed.header("access-control-allow-origin"), own_origin);
  EXPECT_EQ(allowed.header("access-control-expose-headers"), "Mcp-Session-Id, x-request-id");
  EXPECT_EQ(mcpCall(port, "POST", ping, jsonHeaders(session)).header("access-control-allow-origin"),
            "");
  HttpResponse preflight =
      mcpCall(port, "OPTIONS", "",
              {{"Origin", own_origin},
               {"Access-Control-Request-Method", "POST"},
               {"Access-Control-Request-Headers", "content-type, mcp-session-id"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.header("access-control-allow-origin"), own_origin);
  EXPECT_EQ(preflight.header("access-control-allow-methods"), "POST, DELETE");
  EXPECT_NE(preflight.header("access-control-allow-headers").find("Mcp-Session-Id"),
            std::string::npos);
  EXPECT_EQ(mcpCall(port, "OPTIONS", "", {{"Origin", "http://attacker.example"}}).status, 403);
  EXPECT_EQ(mcpCall(port, "POST", ping, jsonHeaders()).status, 400);
  EXPECT_EQ(mcpCall(port, "POST", ping, jsonHeaders("ffffffffffffffffffffffffffffffff")).status,
            404);
  Headers future = jsonHeaders();
  future.emplace_back("Mcp-Session-Id", session);
  future.emplace_back("MCP-Protocol-Version", "2030-01-01");
  EXPECT_EQ(mcpCall(port, "POST", ping, future).status, 400);

  HttpResponse parse_error = mcpCall(port, "POST", "{oops", jsonHeaders(session));
  EXPECT_EQ(parse_error.status, 400);
  EXPECT_EQ(nlohmann::json::parse(parse_error.body)["error"]["code"], -32700);
  HttpResponse unknown_method = mcpCall(
      port, "POST", R"({"jsonrpc":"2.0","id":3,"method":"sampling/x"})", jsonHeaders(session));
  EXPECT_EQ(nlohmann::json::parse(unknown_method.body)["error"]["code"], -32601);

  // Sessions are shared by every worker: many connections (spread over both workers) all work.
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(mcpCall(port, "POST", ping, jsonHeaders(session)).status, 200);
  }
  HttpResponse deleted = mcpCall(port, "DELETE", "", jsonHeaders(session));
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(mcpCall(port, "POST", ping, jsonHeaders(session)).status, 404);
}

TEST(McpHttp, GenerateImageMissThenHitMakesOneUpstreamCall) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  std::string session = openSession(gateway.port());
  nlohmann::json arguments = {{"prompt", "a lighthouse at dusk"}, {"model", "seedream-4.5"}};

  nlohmann::json first = callTool(gateway.port(), session, "generate_image", arguments);
  ASSERT_EQ(first["result"]["isError"], false) << first.dump().substr(0, 500);
  const nlohmann::json& image = first["result"]["content"][0];
  EXPECT_EQ(image["type"], "image");
  EXPECT_EQ(image["mimeType"], "image/png");
  EXPECT_TRUE(looksLikePng(base64Decode(image["data"])));
  EXPECT_EQ(first["result"]["structuredContent"]["cache"], "MISS");
  EXPECT_DOUBLE_EQ(first["result"]["structuredContent"]["cost_usd"].get<double>(), 0.01);

  nlohmann::json second = callTool(gateway.port(), session, "generate_image", arguments);
  const nlohmann::json& facts = second["result"]["structuredContent"];
  EXPECT_EQ(facts["cache"], "HIT");
  EXPECT_EQ(facts["from_cache"], true);
  EXPECT_DOUBLE_EQ(facts["saved_usd"].get<double>(), 0.01);
  EXPECT_EQ(second["result"]["content"][0]["data"], image["data"]);
  EXPECT_EQ(sim.requests(), 1);
}

TEST(McpHttp, SharesTheCacheWithTheHttpApi) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  HttpResponse http = httpPostJson(gateway.port(), "/v1/images/generations",
                                   R"({"model":"gpt-image-1","prompt":"a shared fox"})");
  ASSERT_EQ(http.status, 200) << http.body;
  std::string session = openSession(gateway.port());
  nlohmann::json reply = callTool(gateway.port(), session, "generate_image",
                                  {{"prompt", "a shared fox"}, {"model", "gpt-image-1"}});
  EXPECT_EQ(reply["result"]["structuredContent"]["cache"], "HIT");
  EXPECT_EQ(sim.requests(), 1);
}

// An images.edit of these PNG bytes through the gateway's HTTP API, as an SDK would send it.
HttpResponse httpEdit(uint16_t port, const std::string& prompt, const std::string& png) {
  const std::string boundary = "sdk-boundary-1";
  auto form = http::buildForm(boundary, {{"model", "gpt-image-1"}, {"prompt", prompt}},
                              {{"image[]", "photo.png", "image/png", png}});
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/edits";
  call.headers = {{"Content-Type", "multipart/form-data; boundary=" + boundary}};
  call.body = form.value_or("");
  return httpRequest(port, call);
}

// An agent's generate_image and edit_image on a Kling model: the task API behind the same tools
// (submitted once, its image downloaded, priced, cached), and an edit of the generated image
// submitted as a Kling task with that image as its reference.
TEST(McpHttp, ToolsWorkOnAKlingModel) {
  Simulator sim;
  GatewayOptions options;
  options.upstream_base_url = "http://127.0.0.1:" + std::to_string(sim.port()) + "/kling";
  options.extra_upstream_toml =
      "api = \"kling\"\npoll_interval = \"20ms\"\n"
      "api_key_env = \"KLING_KEYS\"\n";
  options.models_toml =
      "[[model]]\nname = \"kling-v3\"\nupstream = \"sim\"\n"
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.02 }\n";
  options.env = {{"KLING_KEYS", "sim-access-key:sim-secret-key"}};
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  std::string session = openSession(gateway.port());
  nlohmann::json arguments = {{"prompt", "a kite over dunes"}, {"model", "kling-v3"}};
  nlohmann::json first = callTool(gateway.port(), session, "generate_image", arguments);
  ASSERT_EQ(first["result"]["isError"], false) << first.dump().substr(0, 500);
  EXPECT_TRUE(looksLikePng(base64Decode(first["result"]["content"][0]["data"])));
  const nlohmann::json& facts = first["result"]["structuredContent"];
  EXPECT_EQ(facts["cache"], "MISS");
  EXPECT_DOUBLE_EQ(facts["cost_usd"].get<double>(), 0.02);
  nlohmann::json second = callTool(gateway.port(), session, "generate_image", arguments);
  EXPECT_EQ(second["result"]["structuredContent"]["cache"], "HIT");
  EXPECT_EQ(second["result"]["content"][0]["data"], first["result"]["content"][0]["data"]);
  EXPECT_EQ(sim.requests("/kling/v1/images/generations"), 1);

  ASSERT_EQ(facts["image_urls"].size(), 1u) << first.dump().substr(0, 400);
  nlohmann::json edited = callTool(gateway.port(), session, "edit_image",
                                   {{"prompt", "add a second kite"},
                                    {"images", {facts["image_urls"][0]}},
                                    {"model", "kling-v3"}});
  ASSERT_EQ(edited["result"]["isError"], false) << edited.dump().substr(0, 500);
  EXPECT_TRUE(looksLikePng(base64Decode(edited["result"]["content"][0]["data"])));
  EXPECT_NE(edited["result"]["content"][0]["data"], first["result"]["content"][0]["data"]);
  EXPECT_EQ(sim.requests("/kling/v1/images/generations"), 2);
  nlohmann::json submitted = nlohmann::json::parse(
      nlohmann::json::parse(sim.lastRequestJson())["body"].get<std::string>());
  EXPECT_EQ(base64Decode(submitted["image"]), base64Decode(first["result"]["content"][0]["data"]))
      << "the generated image went to Kling as the reference";
}

// generate_image hands out its images' gateway URLs; edit_image reads the image from the cache by
// that URL (or the bare id) and uploads exactly its bytes: the same edit sent over HTTP with those
// bytes is a cache hit, and the provider saw one edit.
TEST(McpHttp, EditImageTakesTheGatewayUrlOfAGeneratedImage) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  std::string session = openSession(gateway.port());
  nlohmann::json generated = callTool(gateway.port(), session, "generate_image",
                                      {{"prompt", "a plain mug"}, {"model", "gpt-image-1"}});
  const nlohmann::json& facts = generated["result"]["structuredContent"];
  ASSERT_EQ(facts["image_urls"].size(), 1u) << generated.dump().substr(0, 400);
  std::string url = facts["image_urls"][0];
  EXPECT_NE(url.find("/v1/images/cache/"), std::string::npos) << url;
  std::string png = base64Decode(generated["result"]["content"][0]["data"]);
  EXPECT_EQ(httpGet(gateway.port(), url.substr(url.find("/v1/images/cache/"))).body, png);
  nlohmann::json again = callTool(gateway.port(), session, "generate_image",
                                  {{"prompt", "a plain mug"}, {"model", "gpt-image-1"}});
  EXPECT_EQ(again["result"]["structuredContent"]["cache"], "HIT");
  EXPECT_EQ(again["result"]["structuredContent"]["image_urls"][0], url) << "a hit names it too";

  nlohmann::json edited = callTool(gateway.port(), session, "edit_image",
                                   {{"prompt", "paint it red"}, {"images", {url}}});
  ASSERT_EQ(edited["result"]["isError"], false) << edited.dump().substr(0, 400);
  const nlohmann::json& edit_facts = edited["result"]["structuredContent"];
  EXPECT_EQ(edit_facts["cache"], "MISS");
  EXPECT_EQ(edited["result"]["content"][0]["type"], "image");
  EXPECT_TRUE(looksLikePng(base64Decode(edited["result"]["content"][0]["data"])));
  ASSERT_EQ(edit_facts["image_urls"].size(), 1u) << "an edit can be edited again";
  EXPECT_NE(edit_facts["image_urls"][0], url);
  std::string text = edited["result"]["content"].back()["text"];
  EXPECT_EQ(text.rfind("Edited 1 image(s) with gpt-image-1.", 0), 0u) << text;

  HttpResponse direct = httpEdit(gateway.port(), "paint it red", png);
  ASSERT_EQ(direct.status, 200) << direct.body;
  EXPECT_EQ(direct.header("x-arkroute-cache"), "HIT") << "the same bytes were uploaded";
  EXPECT_EQ(nlohmann::json::parse(direct.body)["data"][0]["b64_json"],
            edited["result"]["content"][0]["data"]);
  std::string id = url.substr(url.find("/v1/images/cache/") + 17);
  nlohmann::json by_id = callTool(gateway.port(), session, "edit_image",
                                  {{"prompt", "paint it red"}, {"images", {id}}});
  EXPECT_EQ(by_id["result"]["structuredContent"]["cache"], "HIT");
  EXPECT_EQ(sim.requests("/v1/images/edits"), 1);
}

// Images it cannot read are an error result naming the image; base64 and data: URLs are uploaded.
TEST(McpHttp, EditImageNamesAnImageItCannotReadAndTakesBase64) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  std::string session = openSession(gateway.port());
  const std::string unknown =
      "http://127.0.0.1/v1/images/cache/" + std::string(32, 'a') + "-1-0123456789abcdef-0";
  for (const auto& [images, expected] : std::vector<std::pair<nlohmann::json, std::string>>{
           {{"iVBORw0KGgo=", unknown}, "Image 2 is not in the gateway's cache"},
           {{"not base64 at all!"}, "Image 1 is neither a gateway image URL"},
           {{"data:image/png,rawtext"}, "Image 1 is a data: URL that is not base64"}}) {
    nlohmann::json reply =
        callTool(gateway.port(), session, "edit_image", {{"prompt", "p"}, {"images", images}});
    EXPECT_EQ(reply["result"]["isError"], true) << images;
    std::string text = reply["result"]["content"][0]["text"];
    EXPECT_NE(text.find(expected), std::string::npos) << text;
  }
  EXPECT_EQ(sim.requests("/v1/images/edits"), 0);

  const std::string png("\x89PNG\r\n\x1a\nsmall", 13);
  nlohmann::json data_url = callTool(
      gateway.port(), session, "edit_image",
      {{"prompt", "from bytes"}, {"images", {"data:image/png;base64," + sim::base64Encode(png)}}});
  ASSERT_EQ(data_url["result"]["isError"], false) << data_url.dump().substr(0, 400);
  HttpResponse direct = httpEdit(gateway.port(), "from bytes", png);
  EXPECT_EQ(direct.header("x-arkroute-cache"), "HIT");
  // The same bytes as base64 wrapped into lines (as an agent may write it): the same edit.
  std::string wrapped = sim::base64Encode(png);
  wrapped.insert(8, "\r\n");
  wrapped.insert(4, "\n ");
  nlohmann::json lines = callTool(gateway.port(), session, "edit_image",
                                  {{"prompt", "from bytes"}, {"images", {wrapped}}});
  EXPECT_EQ(lines["result"]["structuredContent"]["cache"], "HIT") << lines.dump().substr(0, 400);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 1);
}

TEST(McpHttp, UpstreamFailureIsAToolErrorNotAProtocolError) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  std::string session = openSession(gateway.port());
  nlohmann::json reply =
      callTool(gateway.port(), session, "generate_image", {{"prompt", "x"}, {"model", "broken"}});
  ASSERT_TRUE(reply.contains("result")) << reply.dump();
  EXPECT_EQ(reply["result"]["isError"], true);
  std::string text = reply["result"]["content"][0]["text"];
  EXPECT_NE(text.find("HTTP 5"), std::string::npos) << text;
  nlohmann::json unknown = callTool(gateway.port(), session, "generate_image",
                                    {{"prompt", "x"}, {"model", "no-such-model"}});
  EXPECT_EQ(unknown["result"]["isError"], true);
  EXPECT_NE(unknown["result"]["content"][0]["text"].get<std::string>().find("404"),
            std::string::npos);
}

TEST(McpHttp, EstimateAndListComeFromTheConfig) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  std::string session = openSession(gateway.port());
  nlohmann::json estimate =
      callTool(gateway.port(), session, "estimate_cost", {{"model", "seedream-4.5"}, {"n", 3}});
  EXPECT_NEAR(estimate["result"]["structuredContent"]["total_usd"].get<double>(), 0.03, 1e-9);
  nlohmann::json models =
      callTool(gateway.port(), session, "list_models", nlohmann::json::object());
  EXPECT_EQ(models["result"]["structuredContent"]["models"].size(), 3u);
}

TEST(McpHttp, DisabledEndpointIs404) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim, "[mcp]\nenabled = false\n"));
  EXPECT_EQ(mcpCall(gateway.port(), "POST", kInitialize, jsonHeaders()).status, 404);
}

// A stdio bridge to the gateway on port (sending key as its API key, if any): answers go to out,
// its log to log.
mcp::StdioBridge bridgeTo(uint16_t port, std::ostream& out, std::ostream& log,
                          std::string key = "") {
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::string error;
  return mcp::StdioBridge(*mcp::parseHttpTarget(url, &error),
                          mcp::BridgeOptions{url, std::move(key)}, out, log);
}

TEST(McpStdioBridge, ForwardsLinesKeepsTheSessionAndDeletesItAtTheEnd) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  std::ostringstream out, log;
  mcp::StdioBridge bridge = bridgeTo(gateway.port(), out, log);
  bridge.forward(kInitialize);
  bridge.forward(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  bridge.forward(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  bridge.forward("not json");
  std::string session = bridge.sessionId();
  ASSERT_EQ(session.size(), 32u);

  std::istringstream lines(out.str());
  std::vector<nlohmann::json> answers;
  for (std::string line; std::getline(lines, line);) answers.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(answers.size(), 3u);  // nothing for the notification
  EXPECT_EQ(answers[0]["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(answers[1]["result"]["tools"].size(), 5u);
  EXPECT_EQ(answers[2]["error"]["code"], -32700);

  bridge.endSession();
  EXPECT_EQ(mcpCall(gateway.port(), "POST", R"({"jsonrpc":"2.0","id":2,"method":"ping"})",
                    jsonHeaders(session))
                .status,
            404);
}

TEST(McpStdioBridge, ReopensAnExpiredSessionTransparently) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim));
  std::ostringstream out, log;
  mcp::StdioBridge bridge = bridgeTo(gateway.port(), out, log);
  bridge.forward(kInitialize);
  std::string first = bridge.sessionId();
  ASSERT_EQ(mcpCall(gateway.port(), "DELETE", "", jsonHeaders(first)).status, 200);
  out.str("");
  bridge.forward(R"({"jsonrpc":"2.0","id":"after","method":"ping"})");
  EXPECT_EQ(nlohmann::json::parse(out.str()),
            nlohmann::json::parse(R"({"jsonrpc":"2.0","id":"after","result":{}})"));
  EXPECT_NE(bridge.sessionId(), first);
  EXPECT_NE(log.str().find("opened a new one"), std::string::npos);
}

// When the gateway cannot give it a new session (its table full of others'), the bridge answers
// with an error and opens one with its next message, rather than send every later message
// without a session (400) for good.
TEST(McpStdioBridge, ASessionItCouldNotReopenIsOpenedWithTheNextMessage) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim, "[mcp]\nmax_sessions = 1\n"));
  std::ostringstream out, log;
  mcp::StdioBridge bridge = bridgeTo(gateway.port(), out, log, "agent");
  bridge.forward(kInitialize);
  ASSERT_EQ(mcpCall(gateway.port(), "DELETE", "",
                    [&] {
                      Headers headers = jsonHeaders(bridge.sessionId());
                      headers.emplace_back("Authorization", "Bearer agent");
                      return headers;
                    }())
                .status,
            200);
  std::string other = openSession(gateway.port());  // the one place is someone else's now
  out.str("");
  bridge.forward(R"({"jsonrpc":"2.0","id":"full","method":"ping"})");
  EXPECT_TRUE(nlohmann::json::parse(out.str()).contains("error")) << out.str();
  EXPECT_NE(out.str().find("opening one got HTTP 503"), std::string::npos)
      << "the agent is told why: " << out.str();
  EXPECT_NE(log.str().find("HTTP 503"), std::string::npos) << log.str();
  ASSERT_EQ(mcpCall(gateway.port(), "DELETE", "", jsonHeaders(other)).status, 200);
  out.str("");
  bridge.forward(R"({"jsonrpc":"2.0","id":"room","method":"ping"})");
  EXPECT_EQ(nlohmann::json::parse(out.str()),
            nlohmann::json::parse(R"({"jsonrpc":"2.0","id":"room","result":{}})"));
}

TEST(McpStdioBridge, ItsKeyReachesThePipelineAsTheCaller) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim, "[auth]\nmode = \"passthrough\"\n"));
  std::ostringstream out, log;
  mcp::StdioBridge bridge = bridgeTo(gateway.port(), out, log, "sk-agent-key");
  bridge.forward(kInitialize);
  bridge.forward(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"generate_image",)"
      R"("arguments":{"prompt":"a key","model":"gpt-image-1"}}})");
  std::istringstream lines(out.str());
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);
  EXPECT_EQ(nlohmann::json::parse(line)["result"]["isError"], false);
  nlohmann::json upstream = nlohmann::json::parse(sim.lastRequestJson());
  EXPECT_EQ(upstream["headers"]["authorization"], "Bearer sk-agent-key");
  EXPECT_EQ(nlohmann::json::parse(upstream["body"].get<std::string>())["response_format"],
            "b64_json");
}

// JSON-RPC: a notification is never answered, also when the gateway refuses it (a wrong key);
// the request after it gets the refusal, with its own id and the gateway's reason.
TEST(McpStdioBridge, ARefusedNotificationIsNotAnsweredAndARefusedRequestSaysWhy) {
  Simulator sim;
  Gateway gateway(mcpGateway(sim, "[auth]\nmode = \"keys\"\n"));
  std::ostringstream out, log;
  mcp::StdioBridge bridge = bridgeTo(gateway.port(), out, log, "ark_nope");
  bridge.forward(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(log.str().find("refused a notification"), std::string::npos) << log.str();
  bridge.forward(kInitialize);
  nlohmann::json answer = nlohmann::json::parse(out.str());
  EXPECT_EQ(answer["id"], 1) << out.str();
  EXPECT_TRUE(answer.contains("error")) << out.str();
}

// A key with a line break in it would end the Authorization header and begin another: refused.
TEST(McpStdioBridge, AKeyWithALineBreakIsRefusedNotSent) {
  ChildProcess bridge({ARKROUTE_BIN, "mcp", "--url", "http://127.0.0.1:1"},
                      {{"ARKROUTE_API_KEY", "ark_x\r\nX-Injected: yes"}});
  EXPECT_EQ(bridge.waitExit(10s), 2);
  EXPECT_NE(readFile(bridge.stderrPath()).find("ARKROUTE_API_KEY has a control character"),
            std::string::npos);
}

TEST(McpStdioBridge, UnreachableGatewayAnswersRequestsWithAnError) {
  std::string error;
  std::ostringstream out, log;
  std::string url = "http://127.0.0.1:1";
  mcp::StdioBridge bridge(*mcp::parseHttpTarget(url, &error), mcp::BridgeOptions{url}, out, log);
  bridge.forward(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_TRUE(out.str().empty());
  bridge.forward(R"({"jsonrpc":"2.0","id":5,"method":"ping"})");
  nlohmann::json answer = nlohmann::json::parse(out.str());
  EXPECT_EQ(answer["id"], 5);
  EXPECT_EQ(answer["error"]["code"], -32603);
  EXPECT_FALSE(log.str().empty());
}

}  // namespace
}  // namespace arkroute::testing

namespace arkroute::testing {
namespace {

// auth.mode = "keys": /mcp takes the same virtual keys as the HTTP API; list_models lists the
// models the key may use, generate_image defaults to the first of them and is charged to the key,
// and get_usage reports its spend and balance.
TEST(McpKeys, VirtualKeysGuardMcpAndGetUsageReportsTheKeysSpend) {
  Simulator sim;
  GatewayOptions options = mcpGateway(sim);
  options.auth_toml = "mode = \"keys\"\n";
  options.env = {{"ARKROUTE_ADMIN_TOKEN", "mcp-admin"}};
  Gateway gateway(options);
  ASSERT_NE(gateway.port(), 0);
  HttpCall create;
  create.method = "POST";
  create.path = "/admin/keys";
  create.headers = {{"Authorization", "Bearer mcp-admin"}, {"Content-Type", "application/json"}};
  create.body = R"({"name":"agent","budget_usd":1.0,"models":["seedream-4.5"]})";
  HttpResponse created = httpRequest(gateway.port(), create);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string secret = nlohmann::json::parse(created.body)["secret"];

  HttpResponse anonymous = mcpCall(gateway.port(), "POST", kInitialize, jsonHeaders());
  EXPECT_EQ(anonymous.status, 401);
  Headers keyed = jsonHeaders();
  keyed.emplace_back("Authorization", "Bearer " + secret);
  HttpResponse init = mcpCall(gateway.port(), "POST", kInitialize, keyed);
  ASSERT_EQ(init.status, 200) << init.body;
  std::string session = init.header("mcp-session-id");
  auto withKey = [&](Headers headers) {
    headers.emplace_back("Authorization", "Bearer " + secret);
    return headers;
  };
  nlohmann::json call = {
      {"jsonrpc", "2.0"},
      {"id", 2},
      {"method", "tools/call"},
      {"params", {{"name", "list_models"}, {"arguments", nlohmann::json::object()}}}};
  HttpResponse listed = mcpCall(gateway.port(), "POST", call.dump(), withKey(jsonHeaders(session)));
  auto models = nlohmann::json::parse(listed.body)["result"]["structuredContent"]["models"];
  ASSERT_EQ(models.size(), 1u) << "only the model the key may use: " << listed.body;
  EXPECT_EQ(models[0]["name"], "seedream-4.5");
  nlohmann::json list = {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"}};
  HttpResponse tools = mcpCall(gateway.port(), "POST", list.dump(), withKey(jsonHeaders(session)));
  EXPECT_NE(tools.body.find("Default model: seedream-4.5"), std::string::npos) << tools.body;
  // No model named: the first the key may use, not the gateway's first.
  call["params"] = {{"name", "generate_image"}, {"arguments", {{"prompt", "an agent's fox"}}}};
  HttpResponse generated =
      mcpCall(gateway.port(), "POST", call.dump(), withKey(jsonHeaders(session)));
  ASSERT_EQ(generated.status, 200) << generated.body;
  EXPECT_FALSE(nlohmann::json::parse(generated.body)["result"].value("isError", true))
      << generated.body;
  call["params"] = {{"name", "get_usage"}, {"arguments", nlohmann::json::object()}};
  HttpResponse usage = mcpCall(gateway.port(), "POST", call.dump(), withKey(jsonHeaders(session)));
  ASSERT_EQ(usage.status, 200) << usage.body;
  auto result = nlohmann::json::parse(usage.body)["result"];
  EXPECT_FALSE(result.value("isError", true)) << usage.body;
  EXPECT_NE(usage.body.find("agent"), std::string::npos) << usage.body;
  EXPECT_NE(usage.body.find("0.99"), std::string::npos)
      << "1.00 budget - 0.01 spent: " << usage.body;
}

}  // namespace
}  // namespace arkroute::testing
