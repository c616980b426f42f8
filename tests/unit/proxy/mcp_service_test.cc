// The gateway's own origins for the MCP endpoint's DNS-rebinding check (proxy/mcp_service).
#include "proxy/mcp_service.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "conf/config.h"

namespace arkroute {
namespace {

bool has(const std::vector<std::string>& origins, const std::string& origin) {
  return std::find(origins.begin(), origins.end(), origin) != origins.end();
}

TEST(McpAllowedOrigins, PublicUrlListenAddressAndConfiguredOrigins) {
  Config config;
  config.server.listen_host = "127.0.0.1";
  config.server.listen_port = 0;
  config.server.public_url = "https://images.example.com/gateway";
  config.mcp.allowed_origins = {"https://app.example"};
  std::vector<std::string> origins = mcpAllowedOrigins(config, 41234);
  EXPECT_TRUE(has(origins, "https://images.example.com/gateway"));  // normalized by the handler
  EXPECT_TRUE(has(origins, "https://app.example"));
  EXPECT_TRUE(has(origins, "http://127.0.0.1:41234"));  // the bound port, not the configured 0
  EXPECT_TRUE(has(origins, "http://localhost:41234"));
  EXPECT_TRUE(has(origins, "http://[::1]:41234"));
  EXPECT_FALSE(has(origins, "http://127.0.0.1:0"));
}

TEST(McpAllowedOrigins, NonLoopbackListenerAddsOnlyItself) {
  Config config;
  config.server.listen_host = "10.1.2.3";
  config.server.listen_port = 8080;
  std::vector<std::string> origins = mcpAllowedOrigins(config, 8080);
  EXPECT_TRUE(has(origins, "http://10.1.2.3:8080"));
  EXPECT_FALSE(has(origins, "http://localhost:8080"));
}

}  // namespace
}  // namespace arkroute
