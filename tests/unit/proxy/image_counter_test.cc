// Unit: ImageCounter — the images of a JSON answer's "data" array and of a stream's completed
// events, fed whole and in pieces of every size, and the answers that deliver none.
#include "proxy/image_counter.h"

#include <gtest/gtest.h>

#include <string>

namespace arkroute {
namespace {

// The count for text fed in pieces of `piece` bytes.
int count(const std::string& text, bool stream, size_t piece, bool* error = nullptr,
          int enough = 100) {
  ImageCounter counter(stream, enough);
  for (size_t at = 0; at < text.size(); at += piece) counter.feed(text.substr(at, piece));
  if (error) *error = counter.sawError();
  return counter.images();
}

// The same count for every piece size, which the test also checks.
int countEveryWay(const std::string& text, bool stream, bool* error = nullptr) {
  int whole = count(text, stream, text.size() + 1, error);
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    EXPECT_EQ(count(text, stream, piece), whole) << "pieces of " << piece;
  }
  return whole;
}

TEST(ImageCounter, CountsTheElementsOfTheTopLevelDataArray) {
  std::string three = R"({"created":1,"data":[{"b64_json":"iVBO\/w=="},{"url":"https://x/1.png"},)"
                      R"({"b64_json":"AAAA","revised_prompt":"a \"data\":[{},{}] \\"}],)"
                      R"("usage":{"data":[{},{}],"output_tokens":4160}})";
  EXPECT_EQ(countEveryWay(three, false), 3);
  EXPECT_EQ(countEveryWay(R"( { "data" : [ { "b64_json" : "A" } ] } )", false), 1);
  EXPECT_EQ(countEveryWay(R"({"data":[{"r":"x\\\"],[{\\"},{"r":"\\\\"}]})", false), 2)
      << "quotes after odd and even runs of backslashes";
}

TEST(ImageCounter, AnAnswerWithoutImagesOrCutShortDeliversNone) {
  EXPECT_EQ(countEveryWay(R"({"created":1,"data":[]})", false), 0);
  EXPECT_EQ(countEveryWay(R"({"created":1,"data":[{"b64_json":"AAAA)", false), 0);
  EXPECT_EQ(countEveryWay(R"({"created":1,"images":[{"b64_json":"A"}]})", false), 0);
  EXPECT_EQ(countEveryWay("<html>busy</html>", false), 0);
}

TEST(ImageCounter, CountsAStreamsCompletedImageEvents) {
  std::string stream =
      "event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\","
      "\"b64_json\":\"AAAA\"}\n\n"
      "event: image_generation.completed\r\ndata: {\"type\":\"image_generation.completed\","
      "\"b64_json\":\"BBBB\"}\r\n\r\n"
      "data: {\"type\":\"image_edit.completed\",\"b64_json\":\"CCCC\"}\n\n";
  bool error = true;
  EXPECT_EQ(countEveryWay(stream, true, &error), 2);
  EXPECT_FALSE(error);
}

TEST(ImageCounter, ADataLineWhoseTypeFollowsItsImageIsCounted) {
  std::string stream = "data: {\"b64_json\":\"" + std::string(300, 'A') +
                       "\",\"type\":\"image_generation.completed\"}\n\n";
  EXPECT_EQ(countEveryWay(stream, true), 1);
}

TEST(ImageCounter, ReadsAStreamsLinesAsTheCacheDoesBareCrIncluded) {
  std::string completed = "data: {\"type\":\"image_generation.completed\",\"b64_json\":\"AAAA\"}";
  EXPECT_EQ(countEveryWay(completed + "\r\r" + completed + "\r\n\r\n", true), 2);
  EXPECT_EQ(countEveryWay("event: image_generation.completed\r\r" + completed + "\n\n", true), 1)
      << "an event without data is not dispatched";
  EXPECT_EQ(countEveryWay(": keep-alive\n\nevent:image_edit.completed\ndata: {}\n\n", true), 1);
}

TEST(ImageCounter, AStreamThatEndsOnAnErrorEventIsNoted) {
  std::string stream =
      "event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\"}"
      "\n\nevent: error\ndata: "
      "{\"type\":\"error\",\"error\":{\"code\":\"moderation_blocked\"}}\n\n";
  bool error = false;
  EXPECT_EQ(countEveryWay(stream, true, &error), 0);
  EXPECT_TRUE(error);
}

TEST(ImageCounter, StopsOnceTheImagesAskedForHaveBegun) {
  std::string two = R"({"data":[{"b64_json":"AAAA"},{"b64_json":"BBBB)";  // cut in the second
  EXPECT_EQ(count(two, false, 3, nullptr, 2), 2) << "the rest is the framing's to check";
  EXPECT_EQ(count(two, false, 3, nullptr, 3), 0) << "short of three, read to its (missing) end";
  std::string stream =
      "event: image_generation.completed\ndata: {}\n\nevent: image_generation.completed\n";
  EXPECT_EQ(count(stream, true, 5, nullptr, 1), 1);
}

}  // namespace
}  // namespace arkroute
