// The Streamable HTTP rules of the /mcp endpoint: status codes, sessions, version negotiation,
// Origin/Accept/Content-Type checks and JSON-RPC error codes (proxy/mcp/mcp_http).
#include "proxy/mcp/mcp_http.h"

#include <gtest/gtest.h>

#include "unit/proxy/mcp/mcp_test_support.h"

namespace arkroute::mcp {
namespace {

using namespace std::chrono_literals;
using testing::FakeBackend;
using testing::RecordingExchange;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
    R"("capabilities":{},"clientInfo":{"name":"test","version":"1"}}})";

class McpHttpTest : public ::testing::Test {
 protected:
  static McpHttpOptions options() {
    McpHttpOptions options;
    options.allowed_origins = {"http://127.0.0.1:8080", "HTTPS://App.Example.com:443/"};
    options.server_version = "9.9.9";
    return options;
  }

  std::shared_ptr<RecordingExchange> send(const std::string& method, const std::string& body,
                                          const HeaderList& headers) {
    http::Request request;
    request.method = method;
    request.path = "/mcp";
    for (const auto& [name, value] : headers) request.headers.add(name, value);
    request.body = body;
    auto exchange = std::make_shared<RecordingExchange>(std::move(request));
    handler.handle(exchange, "req_test");
    return exchange;
  }

  HeaderList base() const {
    return {{"Content-Type", "application/json"},
            {"Accept", "application/json, text/event-stream"}};
  }
  HeaderList withSession(const std::string& session) const {
    HeaderList headers = base();
    headers.emplace_back("Mcp-Session-Id", session);
    headers.emplace_back("MCP-Protocol-Version", "2025-06-18");
    return headers;
  }
  std::string initialize() {
    auto response = send("POST", kInitialize, base());
    EXPECT_EQ(response->status, 200);
    return std::string(response->headers.get("Mcp-Session-Id"));
  }
  std::shared_ptr<RecordingExchange> post(const std::string& session, const std::string& body) {
    return send("POST", body, withSession(session));
  }

  int64_t now = 1'000'000;
  FakeBackend backend;
  McpSessions sessions{1h, 100, [this] { return now; }};
  McpHttpHandler handler{options(), sessions, backend};
};

TEST_F(McpHttpTest, InitializeOpensASessionAndEchoesASupportedVersion) {
  auto response = send("POST", kInitialize, base());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.get("Content-Type"), "application/json");
  EXPECT_EQ(response->headers.get("x-request-id"), "req_test");
  std::string session(response->headers.get("Mcp-Session-Id"));
  EXPECT_EQ(session.size(), 32u);
  nlohmann::json body = response->json();
  EXPECT_EQ(body["id"], 1);
  EXPECT_EQ(body["result"]["protocolVersion"], "2025-06-18");
  EXPECT_TRUE(body["result"]["capabilities"].contains("tools"));
  EXPECT_EQ(body["result"]["serverInfo"]["name"], "arkroute");
  EXPECT_EQ(body["result"]["serverInfo"]["version"], "9.9.9");
  EXPECT_EQ(sessions.size(), 1u);
}

TEST_F(McpHttpTest, EachSupportedVersionIsNegotiatedAndOthersGetTheLatest) {
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    EXPECT_EQ(negotiateVersion(version), version);
  }
  EXPECT_EQ(negotiateVersion("2024-11-05"), "2025-11-25");
  EXPECT_EQ(negotiateVersion(""), "2025-11-25");
  std::string old =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05"}})";
  EXPECT_EQ(send("POST", old, base())->json()["result"]["protocolVersion"], "2025-11-25");
}

TEST_F(McpHttpTest, NotificationsAndClientResponsesGet202WithNoBody) {
  std::string session = initialize();
  auto notification = post(session, R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(notification->status, 202);
  EXPECT_TRUE(notification->body.empty());
  auto reply = post(session, R"({"jsonrpc":"2.0","id":"s1","result":{}})");
  EXPECT_EQ(reply->status, 202);
  EXPECT_TRUE(reply->body.empty());
}

TEST_F(McpHttpTest, PingAnswersAnEmptyObject) {
  std::string session = initialize();
  auto response = post(session, R"({"jsonrpc":"2.0","id":"p","method":"ping"})");
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->json(), nlohmann::json::parse(R"({"jsonrpc":"2.0","id":"p","result":{}})"));
}

TEST_F(McpHttpTest, MissingSessionAfterInitializeIs400AndUnknownIs404) {
  initialize();
  auto missing = send("POST", R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})", base());
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(missing->json()["error"]["code"], rpc::kServerError);
  EXPECT_EQ(missing->json()["id"], 2) << "JSON-RPC: null only when the id cannot be read";
  auto unknown = post("00000000000000000000000000000000",
                      R"({"jsonrpc":"2.0","id":"u","method":"tools/list"})");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(unknown->json()["id"], "u");
}

TEST_F(McpHttpTest, DeleteEndsTheSessionAndLaterUseIs404) {
  std::string session = initialize();
  auto deleted = send("DELETE", "", withSession(session));
  EXPECT_EQ(deleted->status, 200);
  EXPECT_EQ(sessions.size(), 0u);
  EXPECT_EQ(post(session, R"({"jsonrpc":"2.0","id":2,"method":"ping"})")->status, 404);
  EXPECT_EQ(send("DELETE", "", withSession(session))->status, 404);
  EXPECT_EQ(send("DELETE", "", base())->status, 400);
}

TEST_F(McpHttpTest, ExpiredSessionIs404) {
  std::string session = initialize();
  now += 3'600'000;
  EXPECT_EQ(post(session, R"({"jsonrpc":"2.0","id":2,"method":"ping"})")->status, 404);
}

TEST_F(McpHttpTest, SessionOfAnotherCredentialIs404) {
  HeaderList headers = base();
  headers.emplace_back("Authorization", "Bearer alice");
  std::string session(send("POST", kInitialize, headers)->headers.get("Mcp-Session-Id"));
  HeaderList as_bob = withSession(session);
  as_bob.emplace_back("Authorization", "Bearer bob");
  EXPECT_EQ(send("POST", R"({"jsonrpc":"2.0","id":2,"method":"ping"})", as_bob)->status, 404);
  HeaderList as_alice = withSession(session);
  as_alice.emplace_back("Authorization", "Bearer alice");
  EXPECT_EQ(send("POST", R"({"jsonrpc":"2.0","id":2,"method":"ping"})", as_alice)->status, 200);
}

TEST_F(McpHttpTest, ProtocolVersionHeaderMissingIsAcceptedUnsupportedIs400) {
  std::string session = initialize();
  HeaderList no_version = base();
  no_version.emplace_back("Mcp-Session-Id", session);
  EXPECT_EQ(send("POST", R"({"jsonrpc":"2.0","id":2,"method":"ping"})", no_version)->status, 200);
  for (const char* version : {"2025-11-25", "2025-03-26"}) {
    HeaderList headers = no_version;
    headers.emplace_back("MCP-Protocol-Version", version);
    EXPECT_EQ(send("POST", R"({"jsonrpc":"2.0","id":2,"method":"ping"})", headers)->status, 200);
  }
  HeaderList bad = no_version;
  bad.emplace_back("MCP-Protocol-Version", "2099-01-01");
  auto response = send("POST", R"({"jsonrpc":"2.0","id":2,"method":"ping"})", bad);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->json()["error"]["message"].get<std::string>().find("2099-01-01"),
            std::string::npos);
}

TEST_F(McpHttpTest, GetAndOtherMethodsAre405WithAllow) {
  for (const char* method : {"GET", "PUT", "PATCH"}) {
    auto response = send(method, "", base());
    EXPECT_EQ(response->status, 405) << method;
    EXPECT_EQ(response->headers.get("Allow"), "POST, DELETE, OPTIONS");
  }
}

TEST_F(McpHttpTest, AcceptWithoutJsonIs406) {
  HeaderList headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  EXPECT_EQ(send("POST", kInitialize, headers)->status, 406);
  headers = {{"Content-Type", "application/json"}, {"Accept", "text/html, image/png"}};
  EXPECT_EQ(send("POST", kInitialize, headers)->status, 406);
  for (const char* accept : {"application/json", "*/*", "text/event-stream, application/*;q=0.5",
                             "Application/JSON; charset=utf-8"}) {
    headers = {{"Content-Type", "application/json"}, {"Accept", accept}};
    EXPECT_EQ(send("POST", kInitialize, headers)->status, 200) << accept;
  }
}

TEST_F(McpHttpTest, WrongContentTypeIs415) {
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    HeaderList headers = {{"Accept", "application/json"}};
    if (*type) headers.emplace_back("Content-Type", type);
    EXPECT_EQ(send("POST", kInitialize, headers)->status, 415) << type;
  }
  HeaderList charset = {{"Accept", "application/json"},
                        {"Content-Type", "application/json; charset=utf-8"}};
  EXPECT_EQ(send("POST", kInitialize, charset)->status, 200);
}

TEST_F(McpHttpTest, ForeignOriginIs403AndOwnOrAllowedOriginsPass) {
  for (const char* origin :
       {"http://evil.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1:8080"}) {
    HeaderList headers = base();
    headers.emplace_back("Origin", origin);
    EXPECT_EQ(send("POST", kInitialize, headers)->status, 403) << origin;
    EXPECT_EQ(send("DELETE", "", headers)->status, 403) << origin;
  }
  for (const char* origin :
       {"http://127.0.0.1:8080", "https://app.example.com", "https://APP.example.com:443"}) {
    HeaderList headers = base();
    headers.emplace_back("Origin", origin);
    EXPECT_EQ(send("POST", kInitialize, headers)->status, 200) << origin;
  }
}

TEST_F(McpHttpTest, WildcardAllowsAnyOrigin) {
  McpHttpOptions any = options();
  any.allowed_origins = {"*"};
  McpHttpHandler open_handler(any, sessions, backend);
  http::Request request;
  request.method = "POST";
  request.path = "/mcp";
  request.headers.add("Content-Type", "application/json");
  request.headers.add("Origin", "http://anything.example");
  request.body = kInitialize;
  auto exchange = std::make_shared<RecordingExchange>(request);
  open_handler.handle(exchange, "r");
  EXPECT_EQ(exchange->status, 200);
}

TEST_F(McpHttpTest, RefusedCredentialIs401WithAJsonRpcError) {
  backend.refusal = "Invalid API key.";
  auto response = send("POST", kInitialize, base());
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->headers.get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(response->json()["error"]["message"], "Invalid API key.");
  EXPECT_EQ(send("DELETE", "", base())->status, 401);
  EXPECT_EQ(sessions.size(), 0u);
}

TEST_F(McpHttpTest, ParseErrorIs32700AndInvalidRequestIs32600) {
  auto parse = send("POST", "{not json", base());
  EXPECT_EQ(parse->status, 400);
  EXPECT_EQ(parse->json()["error"]["code"], -32700);
  EXPECT_TRUE(parse->json()["id"].is_null());
  auto invalid = send("POST", R"({"jsonrpc":"1.0","id":5,"method":"ping"})", base());
  EXPECT_EQ(invalid->status, 400);
  EXPECT_EQ(invalid->json()["error"]["code"], -32600);
  EXPECT_EQ(invalid->json()["id"], 5);
  auto batch = send("POST", R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", base());
  EXPECT_EQ(batch->json()["error"]["code"], -32600);
}

TEST_F(McpHttpTest, UnknownMethodIs32601) {
  std::string session = initialize();
  auto response = post(session, R"({"jsonrpc":"2.0","id":9,"method":"resources/list"})");
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->json()["error"]["code"], -32601);
  EXPECT_EQ(response->json()["id"], 9);
}

TEST_F(McpHttpTest, ToolsListNamesTheFiveTools) {
  std::string session = initialize();
  nlohmann::json tools =
      post(session, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})")->json()["result"]["tools"];
  std::vector<std::string> names;
  for (const auto& tool : tools) names.push_back(tool["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"generate_image", "edit_image", "list_models",
                                             "estimate_cost", "get_usage"}));
}

TEST_F(McpHttpTest, UnknownToolIs32602AndMissingNameToo) {
  std::string session = initialize();
  auto unknown =
      post(session, R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"x"}})");
  EXPECT_EQ(unknown->json()["error"]["code"], -32602);
  auto nameless = post(session, R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{}})");
  EXPECT_EQ(nameless->json()["error"]["code"], -32602);
}

TEST_F(McpHttpTest, ToolCallAnswersWhenTheBackendFinishes) {
  HeaderList init = base();
  init.emplace_back("Authorization", "Bearer k");
  std::string session(send("POST", kInitialize, init)->headers.get("Mcp-Session-Id"));
  backend.defer = true;
  HeaderList headers = withSession(session);
  headers.emplace_back("Authorization", "Bearer k");
  auto exchange = send(
      "POST",
      R"({"jsonrpc":"2.0","id":"g","method":"tools/call","params":{"name":"generate_image","arguments":{"prompt":"a cat"}}})",
      headers);
  EXPECT_EQ(exchange->responses, 0);  // not yet: the pipeline is still running
  ASSERT_TRUE(backend.pending);
  EXPECT_EQ(backend.authorizations.at(0), "Bearer k");
  backend.pending(backend.outcome);
  EXPECT_EQ(exchange->responses, 1);
  EXPECT_EQ(exchange->status, 200);
  nlohmann::json body = exchange->json();
  EXPECT_EQ(body["id"], "g");
  EXPECT_EQ(body["result"]["content"][0]["type"], "image");
  EXPECT_EQ(body["result"]["isError"], false);
}

TEST(McpOrigins, NormalizesSchemeHostAndDefaultPorts) {
  EXPECT_EQ(normalizeOrigin("HTTP://LocalHost:80/x"), "http://localhost");
  EXPECT_EQ(normalizeOrigin("https://a.example:443"), "https://a.example");
  EXPECT_EQ(normalizeOrigin("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
  EXPECT_EQ(normalizeOrigin("http://[::1]:8080"), "http://[::1]:8080");
  EXPECT_EQ(normalizeOrigin("null"), "");
  EXPECT_EQ(normalizeOrigin("http://"), "");
}

}  // namespace
}  // namespace arkroute::mcp
