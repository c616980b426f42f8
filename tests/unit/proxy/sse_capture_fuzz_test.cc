// Property test for what a hostile or broken provider can stream: 5,000 seeded random image
// streams (OpenAI's and Seedream's events, errors, previews, malformed and mistyped data, any
// split) through SseCapture. Whatever arrives, what it keeps is either nothing or a cacheable
// images answer holding exactly the images the stream carried; that answer replays as SSE, and
// the replay captured again holds the same images in the same order.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "proxy/image_response.h"
#include "proxy/sse_capture.h"

namespace arkroute {
namespace {

using nlohmann::json;

class StreamMaker {
 public:
  explicit StreamMaker(uint32_t seed) : random_(seed) {}

  std::string stream() {
    std::string out;
    int events = pick(6);
    for (int i = 0; i < events; ++i) out += event();
    if (pick(3) == 0) out += "data: [DONE]\n\n";
    if (pick(8) == 0) out.resize(out.size() - std::min(out.size(), size_t(pick(20))));  // cut
    return out;
  }

 private:
  int pick(int n) { return static_cast<int>(random_() % static_cast<uint32_t>(n)); }

  json anyValue() {
    switch (pick(6)) {
      case 0:
        return pick(4);
      case 1:
        return -1;
      case 2:
        return "s" + std::to_string(pick(3));
      case 3:
        return json::object({{"generated_images", pick(3)}});
      case 4:
        return nullptr;
      default:
        return json::array({1, "x"});
    }
  }

  std::string event() {
    static const char* kTypes[] = {
        "image_generation.completed", "image_generation.partial_succeeded",
        "image_generation.partial_failed", "image_generation.partial_image", "error"};
    std::string type = kTypes[pick(5)];
    json data = {{"type", type}};
    if (pick(4) != 0)
      data["b64_json"] = pick(6) == 0 ? anyValue() : json("QUJD" + std::to_string(pick(9)));
    if (pick(2) == 0) data["image_index"] = pick(5) == 0 ? anyValue() : json(pick(3));
    for (const char* key : {"created", "created_at", "usage", "size", "model"}) {
      if (pick(3) == 0) data[key] = anyValue();
    }
    std::string text = pick(10) == 0 ? "{\"type\":\"" + type + "\",\"b64_json\":" : data.dump();
    std::string name = pick(3) == 0 ? "" : "event: " + type + "\n";
    return name + "data: " + text + "\n\n";
  }

  std::mt19937 random_;
};

// The b64_json of each image of a cacheable answer, in order.
std::vector<std::string> imagesOf(const std::string& answer) {
  std::vector<std::string> images;
  json parsed = json::parse(answer);
  for (const json& item : parsed["data"]) images.push_back(item["b64_json"]);
  return images;
}

void feedInPieces(SseCapture& capture, const std::string& stream, std::mt19937& random) {
  for (size_t at = 0; at < stream.size();) {
    size_t piece = std::min<size_t>(stream.size() - at, 1 + random() % 40);
    capture.feed(std::string_view(stream).substr(at, piece));
    at += piece;
  }
}

TEST(SseCaptureFuzz, KeepsNothingOrAnAnswerThatReplaysToItself) {
  std::mt19937 splits(11);
  int kept = 0, kept_as_seedream = 0;
  for (uint32_t seed = 0; seed < 5000; ++seed) {
    std::string stream = StreamMaker(seed).stream();
    SseCapture capture(1 << 20);
    feedInPieces(capture, stream, splits);
    std::optional<std::string> answer = capture.imagesJson();
    if (!answer) continue;
    ++kept;
    kept_as_seedream += answer->find("\"generated_images\"") != std::string::npos;
    ASSERT_TRUE(json::accept(*answer)) << seed << ": " << *answer;
    ASSERT_TRUE(isCacheableImagesJson(*answer)) << seed << ": " << *answer;
    std::vector<std::string> images = imagesOf(*answer);
    EXPECT_EQ(imageCount(*answer), images.size()) << seed << ": " << *answer;
    for (const std::string& image : images) {
      EXPECT_NE(stream.find(image), std::string::npos) << seed << ": an image the stream carried";
    }
    std::optional<std::string> replay = toSseReplay(*answer);
    ASSERT_TRUE(replay.has_value()) << seed << ": " << *answer;
    SseCapture again(1 << 20);
    again.feed(*replay);
    std::optional<std::string> recaptured = again.imagesJson();
    ASSERT_TRUE(recaptured.has_value()) << seed << ": " << *replay;
    EXPECT_EQ(imagesOf(*recaptured), images) << seed;
  }
  EXPECT_GT(kept - kept_as_seedream, 100) << "the generator makes cacheable OpenAI streams too";
  EXPECT_GT(kept_as_seedream, 20) << "and cacheable Seedream streams";
}

}  // namespace
}  // namespace arkroute
