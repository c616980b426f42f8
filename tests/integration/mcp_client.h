// A client of the gateway's MCP endpoint for integration tests: a session (initialize, then
// initialized) and tool calls, over real loopback sockets.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "integration/harness.h"

namespace arkroute::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"integration","version":"1"}}})";

inline HttpResponse mcpCall(uint16_t port, const std::string& method, const std::string& body,
                            Headers headers) {
  HttpCall call;
  call.method = method;
  call.path = "/mcp";
  call.body = body;
  call.headers = std::move(headers);
  return httpRequest(port, call);
}

inline Headers jsonHeaders(const std::string& session = "") {
  Headers headers = {{"Content-Type", "application/json"},
                     {"Accept", "application/json, text/event-stream"}};
  if (!session.empty()) {
    headers.emplace_back("Mcp-Session-Id", session);
    headers.emplace_back("MCP-Protocol-Version", "2025-11-25");
  }
  return headers;
}

inline std::string openSession(uint16_t port) {
  HttpResponse response = mcpCall(port, "POST", kInitialize, jsonHeaders());
  EXPECT_EQ(response.status, 200) << response.body;
  std::string session = response.header("mcp-session-id");
  EXPECT_EQ(session.size(), 32u);
  EXPECT_EQ(mcpCall(port, "POST", R"({"jsonrpc":"2.0","method":"notifications/initialized"})",
                    jsonHeaders(session))
                .status,
            202);
  return session;
}

inline nlohmann::json callTool(uint16_t port, const std::string& session, const std::string& name,
                               const nlohmann::json& arguments) {
  nlohmann::json request = {{"jsonrpc", "2.0"},
                            {"id", 7},
                            {"method", "tools/call"},
                            {"params", {{"name", name}, {"arguments", arguments}}}};
  HttpResponse response = mcpCall(port, "POST", request.dump(), jsonHeaders(session));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("content-type"), "application/json");
  return nlohmann::json::parse(response.body, nullptr, false);
}

}  // namespace arkroute::testing
