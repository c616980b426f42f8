// MCP tools: catalog schemas, generate_image requests and results (images, cost, cache facts,
// failures), list_models, estimate_cost and get_usage (proxy/mcp/mcp_tools, generation_result).
#include "proxy/mcp/mcp_tools.h"

#include <gtest/gtest.h>

#include "proxy/mcp/json_rpc.h"
#include "unit/proxy/mcp/mcp_test_support.h"

namespace arkroute::mcp {
namespace {

using testing::FakeBackend;

class McpToolsTest : public ::testing::Test {
 protected:
  ToolOutcome call(const std::string& name, const nlohmann::json& arguments,
                   const std::string& authorization = "") {
    std::optional<ToolOutcome> got;
    tools.call(name, arguments, authorization, [&](ToolOutcome outcome) { got = outcome; });
    EXPECT_TRUE(got) << "done was not called";
    return got ? *got : ToolOutcome{};
  }
  std::string text(const ToolOutcome& outcome) {
    for (const auto& block : outcome.result["content"]) {
      if (block["type"] == "text") return block["text"];
    }
    return "";
  }

  FakeBackend backend;
  McpTools tools{backend, ""};
};

TEST_F(McpToolsTest, CatalogHasSchemasAndActionableDescriptions) {
  nlohmann::json list = tools.list("");
  ASSERT_EQ(list.size(), 5u);
  for (const auto& tool : list) {
    EXPECT_EQ(tool["inputSchema"]["type"], "object") << tool["name"];
    EXPECT_TRUE(tool["description"].is_string());
    EXPECT_GT(tool["description"].get<std::string>().size(), 60u) << tool["name"];
  }
  const nlohmann::json& generate = list[0];
  EXPECT_EQ(generate["name"], "generate_image");
  EXPECT_EQ(generate["inputSchema"]["required"], nlohmann::json::array({"prompt"}));
  std::string description = generate["description"];
  EXPECT_NE(description.find("cache"), std::string::npos);
  EXPECT_NE(description.find("free"), std::string::npos);
  EXPECT_NE(description.find("cost"), std::string::npos);
  EXPECT_NE(description.find("Default model: gpt-image-1"), std::string::npos);
  EXPECT_TRUE(generate["outputSchema"]["required"].is_array());
  const nlohmann::json& edit = list[1];
  EXPECT_EQ(edit["name"], "edit_image");
  EXPECT_EQ(edit["inputSchema"]["required"], nlohmann::json::array({"prompt", "images"}));
  EXPECT_NE(edit["description"].get<std::string>().find("image_urls"), std::string::npos);
  EXPECT_EQ(edit["outputSchema"], generate["outputSchema"]);
  EXPECT_EQ(list[3]["inputSchema"]["required"], nlohmann::json::array({"model"}));
}

TEST_F(McpToolsTest, ConfiguredDefaultModelIsNamedAndUsed) {
  McpTools seedream(backend, "seedream-4.5");
  EXPECT_NE(
      seedream.list("")[0]["description"].get<std::string>().find("Default model: seedream-4.5"),
      std::string::npos);
  seedream.call("generate_image", {{"prompt", "p"}}, "", [](ToolOutcome) {});
  EXPECT_EQ(nlohmann::json::parse(backend.requests.at(0))["model"], "seedream-4.5");
}

TEST_F(McpToolsTest, GenerateImageSendsAnImagesRequestThroughTheBackend) {
  call("generate_image",
       {{"prompt", "a red fox"},
        {"size", "1024x1536"},
        {"quality", "high"},
        {"n", 2},
        {"output_format", "webp"},
        {"background", "opaque"},
        {"unknown_field", "ignored"}},
       "Bearer sk-test");
  ASSERT_EQ(backend.requests.size(), 1u);
  nlohmann::json request = nlohmann::json::parse(backend.requests[0]);
  EXPECT_EQ(request["prompt"], "a red fox");
  EXPECT_EQ(request["model"], "gpt-image-1");  // the first configured model
  EXPECT_EQ(request["size"], "1024x1536");
  EXPECT_EQ(request["quality"], "high");
  EXPECT_EQ(request["n"], 2);
  EXPECT_EQ(request["output_format"], "webp");
  EXPECT_EQ(request["background"], "opaque");
  EXPECT_EQ(request["response_format"], "b64_json");
  EXPECT_FALSE(request.contains("unknown_field"));
  EXPECT_EQ(backend.authorizations[0], "Bearer sk-test");
}

TEST_F(McpToolsTest, GenerateImageReturnsImageBlocksTextAndStructuredFacts) {
  ToolOutcome outcome = call("generate_image", {{"prompt", "p"}});
  ASSERT_EQ(outcome.error_code, 0);
  const nlohmann::json& result = outcome.result;
  EXPECT_EQ(result["isError"], false);
  ASSERT_EQ(result["content"].size(), 2u);
  EXPECT_EQ(result["content"][0]["type"], "image");
  EXPECT_EQ(result["content"][0]["mimeType"], "image/png");
  EXPECT_EQ(result["content"][0]["data"], testing::kPngBase64);
  std::string summary = text(outcome);
  EXPECT_NE(summary.find("gpt-image-1"), std::string::npos);
  EXPECT_NE(summary.find("$0.042000"), std::string::npos);
  EXPECT_NE(summary.find("MISS"), std::string::npos);
  const nlohmann::json& facts = result["structuredContent"];
  EXPECT_EQ(facts["model"], "gpt-image-1");
  EXPECT_EQ(facts["images"], 1);
  EXPECT_EQ(facts["cache"], "MISS");
  EXPECT_EQ(facts["from_cache"], false);
  EXPECT_DOUBLE_EQ(facts["cost_usd"].get<double>(), 0.042);
  EXPECT_TRUE(facts["saved_usd"].is_null());
  EXPECT_EQ(facts["mime_types"], nlohmann::json::array({"image/png"}));
}

TEST_F(McpToolsTest, CacheHitReportsWhatItSaved) {
  backend.outcome.headers.set("X-ArkRoute-Cache", "HIT");
  backend.outcome.headers.set("X-ArkRoute-Cost-USD", "0.000000");
  backend.outcome.headers.set("X-ArkRoute-Saved-USD", "0.042000");
  ToolOutcome outcome = call("generate_image", {{"prompt", "p"}});
  const nlohmann::json& facts = outcome.result["structuredContent"];
  EXPECT_EQ(facts["from_cache"], true);
  EXPECT_DOUBLE_EQ(facts["cost_usd"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(facts["saved_usd"].get<double>(), 0.042);
  EXPECT_NE(text(outcome).find("saved $0.042000"), std::string::npos);
}

TEST_F(McpToolsTest, UnknownCostIsNull) {
  backend.outcome.headers.set("X-ArkRoute-Cost-USD", "unknown");
  ToolOutcome outcome = call("generate_image", {{"prompt", "p"}});
  EXPECT_TRUE(outcome.result["structuredContent"]["cost_usd"].is_null());
  EXPECT_NE(text(outcome).find("unknown"), std::string::npos);
}

TEST_F(McpToolsTest, MimeTypeComesFromTheBytesNotTheRequest) {
  backend.outcome.body =
      R"({"data":[{"b64_json":"/9j/4AAQSkZJRgABAQ"},{"b64_json":"R0lGODlhAQABAIAAAP"}]})";
  ToolOutcome outcome =
      call("generate_image", {{"prompt", "p"}, {"output_format", "png"}, {"n", 2}});
  EXPECT_EQ(outcome.result["content"][0]["mimeType"], "image/jpeg");
  EXPECT_EQ(outcome.result["content"][1]["mimeType"], "image/gif");
  EXPECT_EQ(outcome.result["structuredContent"]["images"], 2);
}

// What no client could show as an image (not base64, or not an image format) is a tool error,
// never an image block of "application/octet-stream".
TEST_F(McpToolsTest, AnImageThatIsNotOneIsAToolError) {
  for (const char* item :
       {R"("!!!not base64###")", R"("aGVsbG8gd29ybGQ=")", R"("/9j/4AAQSkZJRgABAQ==#")"}) {
    backend.outcome.body = std::string(R"({"data":[{"b64_json":)") + item + "}]}";
    ToolOutcome outcome = call("generate_image", {{"prompt", "p"}});
    EXPECT_EQ(outcome.result["isError"], true) << item;
    EXPECT_NE(text(outcome).find("not a PNG, JPEG, WebP or GIF"), std::string::npos) << item;
  }
}

TEST_F(McpToolsTest, PipelineFailuresBecomeIsErrorResultsWithTheMessage) {
  struct Case {
    int status;
    const char* body;
    const char* expected;
  } cases[] = {
      {429,
       R"({"error":{"message":"Rate limit reached for images","type":"requests","param":null,"code":"rate_limit_exceeded"}})",
       "Rate limit reached for images"},
      {400,
       R"({"error":{"message":"Your request was rejected by the safety system.","type":"image_generation_user_error","param":null,"code":"moderation_blocked"}})",
       "moderation_blocked"},
      {402,
       R"({"error":{"message":"Budget exhausted for this key.","type":"insufficient_quota","param":null,"code":null}})",
       "Budget exhausted"},
      {502, "upstream went away", "upstream went away"},
  };
  for (const Case& c : cases) {
    backend.outcome.status = c.status;
    backend.outcome.body = c.body;
    ToolOutcome outcome = call("generate_image", {{"prompt", "p"}});
    EXPECT_EQ(outcome.error_code, 0);
    EXPECT_EQ(outcome.result["isError"], true) << c.status;
    std::string message = text(outcome);
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(c.status)), std::string::npos) << message;
    EXPECT_FALSE(outcome.result.contains("structuredContent"));
  }
}

TEST_F(McpToolsTest, AbortedResponseIsAnError) {
  backend.outcome.status = 0;
  backend.outcome.body.clear();
  EXPECT_EQ(call("generate_image", {{"prompt", "p"}}).result["isError"], true);
}

TEST_F(McpToolsTest, BadArgumentsAreToolErrorsTheAgentCanFix) {
  for (const nlohmann::json& arguments :
       {nlohmann::json::object(), nlohmann::json{{"prompt", ""}}, nlohmann::json{{"prompt", 5}},
        nlohmann::json{{"prompt", "p"}, {"n", 0}}, nlohmann::json{{"prompt", "p"}, {"n", 11}},
        nlohmann::json{{"prompt", "p"}, {"n", "2"}},
        nlohmann::json{{"prompt", "p"}, {"size", 5}}}) {
    ToolOutcome outcome = call("generate_image", arguments);
    EXPECT_EQ(outcome.error_code, 0) << arguments;
    EXPECT_EQ(outcome.result["isError"], true) << arguments;
  }
  EXPECT_TRUE(backend.requests.empty());
  EXPECT_EQ(call("generate_image", "not an object").error_code, rpc::kInvalidParams);
}

// The images' gateway URLs, when the cache holds them: what edit_image takes.
TEST_F(McpToolsTest, ImagesTheCacheHoldsComeWithTheirGatewayUrls) {
  backend.outcome.body = std::string(R"({"data":[{"b64_json":")") + testing::kPngBase64 +
                         R"("},{"b64_json":")" + testing::kPngBase64 + "\"}]}";
  backend.outcome.image_url_base = "http://gw/v1/images/cache/abc-";
  ToolOutcome outcome = call("generate_image", {{"prompt", "p"}, {"n", 2}});
  EXPECT_EQ(outcome.result["structuredContent"]["image_urls"],
            nlohmann::json::array(
                {"http://gw/v1/images/cache/abc-0", "http://gw/v1/images/cache/abc-1"}));
  std::string summary = text(outcome);
  EXPECT_NE(summary.find("edit_image"), std::string::npos) << summary;
  EXPECT_NE(summary.find("http://gw/v1/images/cache/abc-1"), std::string::npos) << summary;
  backend.outcome.image_url_base.clear();
  EXPECT_FALSE(
      call("generate_image", {{"prompt", "p"}}).result["structuredContent"].contains("image_urls"));
}

TEST_F(McpToolsTest, EditImageSendsTheFormFieldsAndImagesToTheBackend) {
  ToolOutcome outcome = call("edit_image",
                             {{"prompt", "add a hat"},
                              {"images", {"http://gw/v1/images/cache/abc-0", "iVBORw0KGgo="}},
                              {"size", "1024x1024"},
                              {"n", 2},
                              {"input_fidelity", "high"},
                              {"unknown_field", "ignored"}},
                             "Bearer sk-test");
  ASSERT_EQ(backend.edits.size(), 1u);
  const EditImageRequest& edit = backend.edits[0];
  using Fields = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(edit.fields, (Fields{{"prompt", "add a hat"},
                                 {"model", "gpt-image-1"},
                                 {"size", "1024x1024"},
                                 {"input_fidelity", "high"},
                                 {"n", "2"},
                                 {"response_format", "b64_json"}}));
  EXPECT_EQ(edit.images,
            (std::vector<std::string>{"http://gw/v1/images/cache/abc-0", "iVBORw0KGgo="}));
  EXPECT_EQ(backend.authorizations.at(0), "Bearer sk-test");
  EXPECT_EQ(outcome.result["isError"], false);
  EXPECT_EQ(text(outcome).rfind("Edited 1 image(s) with gpt-image-1.", 0), 0u) << text(outcome);
  call("edit_image", {{"prompt", "p"}, {"images", "one-image-as-a-string"}});
  ASSERT_EQ(backend.edits.size(), 2u);
  EXPECT_EQ(backend.edits[1].images, std::vector<std::string>{"one-image-as-a-string"});
}

TEST_F(McpToolsTest, BadEditArgumentsAreToolErrorsAndFailuresSayEdit) {
  nlohmann::json seventeen = nlohmann::json::array();
  for (int i = 0; i < 17; ++i) seventeen.push_back("x");
  for (const nlohmann::json& arguments :
       {nlohmann::json{{"images", {"x"}}}, nlohmann::json{{"prompt", "p"}},
        nlohmann::json{{"prompt", "p"}, {"images", nlohmann::json::array()}},
        nlohmann::json{{"prompt", "p"}, {"images", {""}}},
        nlohmann::json{{"prompt", "p"}, {"images", {5}}},
        nlohmann::json{{"prompt", "p"}, {"images", seventeen}},
        nlohmann::json{{"prompt", "p"}, {"images", {"x"}}, {"n", 11}},
        nlohmann::json{{"prompt", "p"}, {"images", {"x"}}, {"input_fidelity", 1}}}) {
    ToolOutcome outcome = call("edit_image", arguments);
    EXPECT_EQ(outcome.result["isError"], true) << arguments;
  }
  EXPECT_TRUE(backend.edits.empty());
  backend.outcome.status = 400;
  backend.outcome.body =
      R"({"error":{"message":"Image 2 is not in the gateway's cache (expired or purged).","type":"invalid_request_error","param":"images","code":"invalid_image"}})";
  ToolOutcome failed = call("edit_image", {{"prompt", "p"}, {"images", {"x", "y"}}});
  EXPECT_EQ(failed.result["isError"], true);
  EXPECT_EQ(text(failed).rfind("Image edit failed (HTTP 400, invalid_image): Image 2 is not", 0),
            0u)
      << text(failed);
}

TEST_F(McpToolsTest, UnknownToolIsInvalidParams) {
  ToolOutcome outcome = call("make_video", nlohmann::json::object());
  EXPECT_EQ(outcome.error_code, rpc::kInvalidParams);
  EXPECT_NE(outcome.error_message.find("make_video"), std::string::npos);
}

TEST_F(McpToolsTest, ListModelsCarriesProvidersAndPrices) {
  ToolOutcome outcome = call("list_models", nlohmann::json::object());
  const nlohmann::json& models = outcome.result["structuredContent"]["models"];
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0]["provider"], "openai");
  EXPECT_DOUBLE_EQ(models[0]["prices"]["per_image_usd"]["high"]["1024x1024"].get<double>(), 0.084);
  EXPECT_NE(text(outcome).find("seedream-4.5"), std::string::npos);
}

TEST_F(McpToolsTest, EstimateCostComesFromTheBackendsPriceTable) {
  ToolOutcome outcome =
      call("estimate_cost",
           {{"model", "gpt-image-1"}, {"size", "1024x1024"}, {"quality", "high"}, {"n", 3}});
  const nlohmann::json& estimate = outcome.result["structuredContent"];
  EXPECT_EQ(outcome.result["isError"], false);
  EXPECT_DOUBLE_EQ(estimate["unit_usd"].get<double>(), 0.084);
  EXPECT_NEAR(estimate["total_usd"].get<double>(), 0.252, 1e-9);
  EXPECT_NE(text(outcome).find("$0.252000"), std::string::npos);
  ToolOutcome defaults = call("estimate_cost", {{"model", "gpt-image-1"}});
  EXPECT_EQ(defaults.result["structuredContent"]["size"], "auto");
  EXPECT_EQ(defaults.result["structuredContent"]["n"], 1);
}

TEST_F(McpToolsTest, EstimateCostUnpricedAndUnknownModels) {
  ToolOutcome unpriced = call("estimate_cost", {{"model", "seedream-4.5"}});
  EXPECT_EQ(unpriced.result["isError"], false);
  EXPECT_TRUE(unpriced.result["structuredContent"]["total_usd"].is_null());
  ToolOutcome unknown = call("estimate_cost", {{"model", "dall-e-9"}});
  EXPECT_EQ(unknown.result["isError"], true);
  EXPECT_NE(text(unknown).find("list_models"), std::string::npos);
  EXPECT_EQ(call("estimate_cost", nlohmann::json::object()).result["isError"], true);
}

TEST_F(McpToolsTest, UsageWithoutKeysSaysWhatToEnable) {
  ToolOutcome outcome = call("get_usage", nlohmann::json::object());
  EXPECT_EQ(outcome.result["isError"], false);
  EXPECT_NE(text(outcome).find("auth.mode = \"keys\""), std::string::npos);
  backend.usage_answer = nlohmann::json{{"spent_usd", 1.5}, {"saved_usd", 0.25}};
  ToolOutcome tracked = call("get_usage", nlohmann::json::object());
  EXPECT_DOUBLE_EQ(tracked.result["structuredContent"]["spent_usd"].get<double>(), 1.5);
}

}  // namespace
}  // namespace arkroute::mcp
