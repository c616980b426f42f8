// The simulator's Seedream dialect without sockets: request defaults, the image count, answers
// and stream events.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/sim/sim_seedream.h"

namespace arkroute::sim {
namespace {

using nlohmann::json;

ImageParams seedreamParams(const std::string& body) {
  ImageParams params;
  EXPECT_FALSE(parseImageRequest(body, &params).has_value());
  params.seedream = true;
  EXPECT_FALSE(applySeedreamFields(body, &params).has_value()) << body;
  return params;
}

json eventData(const std::string& event) {
  size_t data = event.find("data: ");
  return json::parse(event.substr(data + 6, event.find('\n', data) - data - 6));
}

TEST(SimSeedream, AnswersWithUrlsAndOneImageUnlessAsked) {
  ImageParams params = seedreamParams(R"({"model":"seedream-4-5","prompt":"p","n":3})");
  EXPECT_EQ(params.response_format, "url");
  EXPECT_EQ(params.n, 1) << "Seedream has no n";
  ImageParams sequential = seedreamParams(
      R"({"prompt":"p","response_format":"b64_json","sequential_image_generation":"auto",)"
      R"("sequential_image_generation_options":{"max_images":3}})");
  EXPECT_EQ(sequential.response_format, "b64_json");
  EXPECT_EQ(sequential.n, 3);
  ImageParams refused;
  std::string too_many = R"({"prompt":"p","sequential_image_generation":"auto",)"
                         R"("sequential_image_generation_options":{"max_images":16}})";
  EXPECT_TRUE(applySeedreamFields(too_many, &refused).has_value());
}

TEST(SimSeedream, AnswerCarriesSizesAndGeneratedImages) {
  ImageFactory images(0);
  ImageParams params = seedreamParams(
      R"({"model":"seedream-4-5","prompt":"p","size":"2K","sequential_image_generation":"auto",)"
      R"("sequential_image_generation_options":{"max_images":2}})");
  json answer = json::parse(seedreamJson(images, params, {"http://a/0.png", "http://a/1.png"}));
  EXPECT_EQ(answer["model"], "seedream-4-5");
  ASSERT_EQ(answer["data"].size(), 2u);
  EXPECT_EQ(answer["data"][1]["url"], "http://a/1.png");
  EXPECT_EQ(answer["data"][0]["size"], "2048x2048");
  EXPECT_EQ(answer["usage"]["generated_images"], 2);
}

TEST(SimSeedream, StreamsOneEventPerImageThenTheSummaryThenDone) {
  ImageFactory images(0);
  ImageParams params = seedreamParams(
      R"({"prompt":"p","response_format":"b64_json","sequential_image_generation":"auto",)"
      R"("sequential_image_generation_options":{"max_images":2}})");
  params.seedream_fail_last = true;
  std::vector<std::string> events = seedreamEvents(images, params, {});
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(eventData(events[0])["type"], "image_generation.partial_succeeded");
  EXPECT_EQ(eventData(events[0])["b64_json"], images.imageBase64(params, 0));
  EXPECT_EQ(eventData(events[1])["type"], "image_generation.partial_failed");
  EXPECT_EQ(eventData(events[1])["image_index"], 1);
  EXPECT_EQ(eventData(events[2])["usage"]["generated_images"], 1);
  EXPECT_EQ(events[3], "data: [DONE]\n\n");
}

}  // namespace
}  // namespace arkroute::sim
