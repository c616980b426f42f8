// URL parsing for the stdio bridge's --url (proxy/mcp/blocking_http_client).
#include "proxy/mcp/blocking_http_client.h"

#include <gtest/gtest.h>

namespace arkroute::mcp {
namespace {

TEST(McpBridgeUrl, DefaultsThePathToMcp) {
  std::string error;
  auto target = parseHttpTarget("http://127.0.0.1:8080", &error);
  ASSERT_TRUE(target) << error;
  EXPECT_EQ(target->host, "127.0.0.1");
  EXPECT_EQ(target->port, 8080);
  EXPECT_EQ(target->path, "/mcp");
  EXPECT_EQ(parseHttpTarget("http://localhost/", &error)->path, "/mcp");
  EXPECT_EQ(parseHttpTarget("http://localhost/", &error)->port, 80);
}

TEST(McpBridgeUrl, KeepsAnExplicitPathAndIpv6) {
  std::string error;
  auto target = parseHttpTarget("http://[::1]:9000/gateway/mcp", &error);
  ASSERT_TRUE(target) << error;
  EXPECT_EQ(target->host, "::1");
  EXPECT_EQ(target->port, 9000);
  EXPECT_EQ(target->path, "/gateway/mcp");
}

TEST(McpBridgeUrl, RejectsWhatTheBridgeCannotReach) {
  std::string error;
  for (const char* url : {"https://example.com", "127.0.0.1:8080", "http://:8080", "http://h:0",
                          "http://h:99999", "http://h:x", "http://[::1"}) {
    EXPECT_FALSE(parseHttpTarget(url, &error)) << url;
    EXPECT_FALSE(error.empty());
  }
}

}  // namespace
}  // namespace arkroute::mcp
