// JSON-RPC 2.0 message parsing and validation (proxy/mcp/json_rpc).
#include "proxy/mcp/json_rpc.h"

#include <gtest/gtest.h>

namespace arkroute::mcp {
namespace {

TEST(McpJsonRpc, RequestWithObjectParams) {
  ParsedMessage parsed =
      parseMessage(R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"x"}})");
  ASSERT_TRUE(parsed.message);
  EXPECT_FALSE(parsed.error);
  EXPECT_EQ(parsed.message->kind, MessageKind::kRequest);
  EXPECT_EQ(parsed.message->id, 7);
  EXPECT_EQ(parsed.message->method, "tools/list");
  EXPECT_EQ(parsed.message->params["cursor"], "x");
}

TEST(McpJsonRpc, StringIdsAreKept) {
  ParsedMessage parsed = parseMessage(R"({"jsonrpc":"2.0","id":"abc","method":"ping"})");
  ASSERT_TRUE(parsed.message);
  EXPECT_EQ(parsed.message->id, "abc");
  EXPECT_TRUE(parsed.message->params.is_null());
}

TEST(McpJsonRpc, MessageWithoutIdIsANotification) {
  ParsedMessage parsed = parseMessage(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  ASSERT_TRUE(parsed.message);
  EXPECT_EQ(parsed.message->kind, MessageKind::kNotification);
}

TEST(McpJsonRpc, ClientResponsesAreRecognised) {
  ParsedMessage result = parseMessage(R"({"jsonrpc":"2.0","id":3,"result":{}})");
  ASSERT_TRUE(result.message);
  EXPECT_EQ(result.message->kind, MessageKind::kResponse);
  ParsedMessage error =
      parseMessage(R"({"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"m"}})");
  ASSERT_TRUE(error.message);
  EXPECT_EQ(error.message->kind, MessageKind::kResponse);
}

TEST(McpJsonRpc, NotJsonIsAParseError) {
  for (const char* body : {"", "{", "not json", R"({"jsonrpc":"2.0",})"}) {
    ParsedMessage parsed = parseMessage(body);
    ASSERT_TRUE(parsed.error) << body;
    EXPECT_EQ(parsed.error->code, rpc::kParseError) << body;
    EXPECT_TRUE(parsed.error->id.is_null());
  }
}

TEST(McpJsonRpc, InvalidShapesAreInvalidRequests) {
  const char* bodies[] = {
      R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])",             // batch
      R"("ping")",                                                 // not an object
      R"({"id":1,"method":"ping"})",                               // no jsonrpc
      R"({"jsonrpc":"1.0","id":1,"method":"ping"})",               // wrong version
      R"({"jsonrpc":"2.0","id":1,"method":5})",                    // method not a string
      R"({"jsonrpc":"2.0","id":1,"method":""})",                   // empty method
      R"({"jsonrpc":"2.0","id":null,"method":"ping"})",            // null id
      R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})",             // fractional id
      R"({"jsonrpc":"2.0","id":{},"method":"ping"})",              // object id
      R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})",  // positional params
      R"({"jsonrpc":"2.0","id":1,"method":"ping","params":"x"})",  // scalar params
      R"({"jsonrpc":"2.0"})",                                      // neither method nor id
      R"({"jsonrpc":"2.0","id":1})",                               // response without result
      R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})",        // both
      R"({"jsonrpc":"2.0","id":1,"error":"x"})",                   // error not an object
  };
  for (const char* body : bodies) {
    ParsedMessage parsed = parseMessage(body);
    ASSERT_TRUE(parsed.error) << body;
    EXPECT_FALSE(parsed.message) << body;
    EXPECT_EQ(parsed.error->code, rpc::kInvalidRequest) << body;
  }
}

TEST(McpJsonRpc, InvalidRequestKeepsAReadableId) {
  ParsedMessage parsed = parseMessage(R"({"jsonrpc":"2.0","id":"k","method":"ping","params":[]})");
  ASSERT_TRUE(parsed.error);
  EXPECT_EQ(parsed.error->id, "k");
}

// A parsed value is copied recursively: 200,000 nested arrays in params would exhaust the
// worker's stack and end the gateway. Refused before parsing; what tools take still passes.
TEST(McpJsonRpc, DeepNestingIsRefusedBeforeParsing) {
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" +
                     std::string(200000, '[') + std::string(200000, ']') + "}}";
  ParsedMessage refused = parseMessage(deep);
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->code, rpc::kInvalidRequest);
  EXPECT_NE(refused.error->message.find("nested deeper than 64 levels"), std::string::npos);
  std::string fine = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" +
                     std::string(62, '[') + std::string(62, ']') +
                     R"(,"prompt":"[[[[{{{{ \"[[[[ brackets in text"}})";
  ParsedMessage accepted = parseMessage(fine);
  EXPECT_FALSE(accepted.error) << "62 levels in params, and brackets in text: "
                               << accepted.error->message;
}

TEST(McpJsonRpc, BuildsResultsAndErrors) {
  nlohmann::json result = makeResult(4, {{"a", 1}});
  EXPECT_EQ(result.dump(), R"({"id":4,"jsonrpc":"2.0","result":{"a":1}})");
  nlohmann::json error = makeError("x", rpc::kMethodNotFound, "Method not found");
  EXPECT_EQ(error["jsonrpc"], "2.0");
  EXPECT_EQ(error["id"], "x");
  EXPECT_EQ(error["error"]["code"], -32601);
  EXPECT_EQ(error["error"]["message"], "Method not found");
  EXPECT_FALSE(error["error"].contains("data"));
  EXPECT_EQ(makeError(nullptr, 1, "m", {{"k", 1}})["error"]["data"]["k"], 1);
}

}  // namespace
}  // namespace arkroute::mcp
