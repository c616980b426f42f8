// Seedream's stream dialect in the cache: its partial_succeeded events captured as its own answer
// form, and that form replayed as Seedream's events again.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/image_response.h"
#include "proxy/sse_capture.h"

namespace arkroute {
namespace {

using nlohmann::json;

constexpr size_t kSeedreamLimit = 1 << 20;

std::string seedreamEvent(const json& data, bool named = true) {
  std::string type = data["type"];
  return (named ? "event: " + type + "\n" : "") + "data: " + data.dump() + "\n\n";
}

json succeeded(int index, const std::string& b64) {
  return {{"type", "image_generation.partial_succeeded"},
          {"model", "seedream-4-5-251128"},
          {"created", 1767225600},
          {"image_index", index},
          {"b64_json", b64},
          {"size", "2048x2048"}};
}

const json kSummary = {{"type", "image_generation.completed"},
                       {"model", "seedream-4-5-251128"},
                       {"created", 1767225600},
                       {"usage", {{"generated_images", 2}, {"output_tokens", 8192}}}};

// Two images, the second one first, then the summary and [DONE].
std::string twoImageStream(bool named) {
  return seedreamEvent(succeeded(1, "L9j/4A=="), named) +
         seedreamEvent(succeeded(0, "iVBORw0KGgo="), named) + seedreamEvent(kSummary, named) +
         "data: [DONE]\n\n";
}

TEST(SeedreamStream, IsCapturedAsSeedreamsAnswerInImageOrder) {
  for (bool named : {true, false}) {
    SseCapture capture(kSeedreamLimit);
    for (char c : twoImageStream(named)) capture.feed(std::string_view(&c, 1));
    std::optional<std::string> stored = capture.imagesJson();
    ASSERT_TRUE(stored.has_value()) << "named " << named;
    json answer = json::parse(*stored);
    EXPECT_EQ(answer["model"], "seedream-4-5-251128");
    EXPECT_EQ(answer["created"], 1767225600);
    ASSERT_EQ(answer["data"].size(), 2u);
    EXPECT_EQ(answer["data"][0]["b64_json"], "iVBORw0KGgo=");
    EXPECT_EQ(answer["data"][1]["b64_json"], "L9j/4A==");
    EXPECT_EQ(answer["data"][0]["size"], "2048x2048");
    EXPECT_EQ(answer["usage"]["generated_images"], 2);
    EXPECT_EQ(answer["usage"]["output_tokens"], 8192);
    EXPECT_EQ(imageCount(*stored), 2u);
  }
}

TEST(SeedreamStream, AnIncompleteSetIsNotCacheable) {
  json failed = {{"type", "image_generation.partial_failed"},
                 {"image_index", 1},
                 {"error", {{"code", "OutputImageSensitiveContentDetected"}}}};
  std::string first = seedreamEvent(succeeded(0, "iVBORw0KGgo="));
  std::vector<std::pair<const char*, std::string>> streams = {
      {"a failed image", first + seedreamEvent(failed) + seedreamEvent(kSummary)},
      {"an unnamed failed image", first + seedreamEvent(failed, false) + seedreamEvent(kSummary)},
      {"no completed event (cut)", first},
      {"an index twice", first + first + seedreamEvent(kSummary)},
      {"an index past the count", seedreamEvent(succeeded(1, "AA==")) + seedreamEvent(kSummary)},
      {"a url instead of the image", seedreamEvent({{"type", "image_generation.partial_succeeded"},
                                                    {"image_index", 0},
                                                    {"url", "https://ark.example/x.png"}}) +
                                         seedreamEvent(kSummary)},
  };
  for (const auto& [why, stream] : streams) {
    SseCapture capture(kSeedreamLimit);
    capture.feed(stream);
    EXPECT_FALSE(capture.imagesJson().has_value()) << why;
  }
}

TEST(SeedreamStream, ReplaysInSeedreamsDialectAndCapturesBackToTheSameAnswer) {
  SseCapture live(kSeedreamLimit);
  live.feed(twoImageStream(true));
  std::string stored = live.imagesJson().value();
  std::string replay = toSseReplay(stored).value();
  EXPECT_EQ(replay.find("image_generation.completed\ndata: {\"b64_json\""), std::string::npos)
      << "no OpenAI completed event carries an image";
  EXPECT_TRUE(replay.ends_with("data: [DONE]\n\n")) << replay;
  const std::string head = "event: image_generation.partial_succeeded\ndata: ";
  ASSERT_EQ(replay.rfind(head, 0), 0u) << replay;
  json event = json::parse(replay.substr(head.size(), replay.find("\n\n") - head.size()));
  EXPECT_EQ(event["image_index"], 0);
  EXPECT_EQ(event["b64_json"], "iVBORw0KGgo=");
  EXPECT_EQ(event["model"], "seedream-4-5-251128");
  SseCapture again(kSeedreamLimit);
  again.feed(replay);
  EXPECT_EQ(again.imagesJson().value(), stored);
}

TEST(SeedreamStream, AnOpenAiAnswerStillReplaysAsCompletedEvents) {
  std::string replay =
      toSseReplay(R"({"created":1,"data":[{"b64_json":"AA=="}],"usage":{"total_tokens":3}})")
          .value();
  EXPECT_EQ(replay.rfind("event: image_generation.completed\n", 0), 0u) << replay;
  EXPECT_EQ(replay.find("[DONE]"), std::string::npos);
}

}  // namespace
}  // namespace arkroute
