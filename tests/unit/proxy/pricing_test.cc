// Unit tests for cost arithmetic (proxy/pricing.cc).
#include "proxy/pricing.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace arkroute {
namespace {

ModelPrice gptImage1() {
  ModelPrice price;
  price.per_image["low"]["1024x1024"] = 0.011;
  price.per_image["medium"]["1024x1024"] = 0.042;
  price.per_image["high"]["1024x1024"] = 0.084;
  price.per_image["high"]["1024x1536"] = 0.126;
  price.per_image["high"]["*"] = 0.167;
  price.tokens = TokenRates{5, 10, 40};
  return price;
}

TEST(Pricing, TablePriceByQualityAndSizeWithDefaults) {
  ModelPrice price = gptImage1();
  EXPECT_DOUBLE_EQ(unitPrice(price, "medium", "1024x1024").value(), 0.042);
  EXPECT_DOUBLE_EQ(unitPrice(price, "high", "1024x1536").value(), 0.126);
  EXPECT_DOUBLE_EQ(unitPrice(price, "high", "auto").value(), 0.167);
  EXPECT_FALSE(unitPrice(price, "medium", "2048x2048").has_value());
  ModelPrice flat;
  flat.per_image["*"]["*"] = 0.01;
  EXPECT_DOUBLE_EQ(unitPrice(flat, "", "").value(), 0.01);
}

TEST(Pricing, UsageTimesTokenRatesIsTheExactCostWhenBothExist) {
  auto usage = usageFromTail(
      R"({"data":[],"usage":{"input_tokens":50,"output_tokens":4160,"input_tokens_details":{"text_tokens":40,"image_tokens":10}}})");
  ASSERT_TRUE(usage.has_value());
  EXPECT_DOUBLE_EQ(usage->text_input, 40);
  EXPECT_DOUBLE_EQ(usage->image_input, 10);
  EXPECT_DOUBLE_EQ(usage->output, 4160);
  double expected = (40 * 5 + 10 * 10 + 4160 * 40) / 1e6;
  EXPECT_DOUBLE_EQ(responseCost(gptImage1(), "high", "1024x1024", 1, usage).value(), expected);
}

TEST(Pricing, FallsBackToTheTableTimesImagesWithoutUsage) {
  EXPECT_DOUBLE_EQ(responseCost(gptImage1(), "low", "1024x1024", 3, std::nullopt).value(), 0.033);
  ModelPrice none;
  EXPECT_FALSE(responseCost(none, "low", "1024x1024", 1, std::nullopt).has_value());
  EXPECT_FALSE(usageFromTail(R"({"data":[]})").has_value());
}

TEST(Pricing, EstimatesFromTheTableOrTypicalTokens) {
  EXPECT_DOUBLE_EQ(estimateCost(gptImage1(), "high", "1024x1024", 2).value(), 0.168);
  ModelPrice tokens_only;
  tokens_only.tokens = TokenRates{5, 10, 40};
  EXPECT_DOUBLE_EQ(estimateCost(tokens_only, "medium", "1024x1536", 1).value(), 1584 * 40 / 1e6);
  EXPECT_EQ(formatUsd(0.042), "0.042000");
  EXPECT_EQ(formatUsd(std::nullopt), "unknown");
}

// formatUsd prints without printf; its text must stay what "%.6f" prints, rounding included.
TEST(Pricing, FormatsUsdExactlyAsPrintfDoes) {
  for (double amount : {0.0, 0.0000005, 0.0000015, 0.0000025, 0.1 + 0.2, 0.04, 0.167999999,
                        1234.5678915, 99999.9999995, 1e-9, 123456789.123456789, 5e15}) {
    char expected[64];
    std::snprintf(expected, sizeof expected, "%.6f", amount);
    EXPECT_EQ(formatUsd(amount), expected) << amount;
  }
}

}  // namespace
}  // namespace arkroute

namespace arkroute {
namespace {

TEST(Pricing, UsageIsFoundInTheTailOfAJsonOrSseResponse) {
  auto json = usageFromTail(
      R"(...AAAA"}],"usage":{"input_tokens":10,"output_tokens":4160,"input_tokens_details":)"
      R"({"text_tokens":10,"image_tokens":0}},"size":"1024x1024"})");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->output, 4160);
  EXPECT_EQ(json->text_input, 10);
  auto sse = usageFromTail(
      "data: {\"type\":\"image_generation.completed\",\"b64_json\":\"x\",\"usage\":"
      "{\"input_tokens\":3,\"output_tokens\":272,\"input_tokens_details\":{\"text_tokens\":3}}}"
      "\n\n");
  ASSERT_TRUE(sse);
  EXPECT_EQ(sse->output, 272);
  EXPECT_FALSE(usageFromTail(R"({"data":[]})"));
  EXPECT_FALSE(usageFromTail(R"("usage":{"output_tokens":12)")) << "cut short: no guess";
  EXPECT_FALSE(json->generated_images.has_value()) << "OpenAI's usage counts no images";
}

TEST(Pricing, TheTailsUsageKeyIsANameFollowedByAnObject) {
  auto after_value = usageFromTail(R"({"usage":{"output_tokens":5},"object":"usage"})");
  ASSERT_TRUE(after_value) << "a later string value \"usage\" is not the key";
  EXPECT_EQ(after_value->output, 5);
  auto spaced = usageFromTail("{\"usage\" :\n\t{ \"output_tokens\" : 7 } }");
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->output, 7);
  auto braces_in_strings =
      usageFromTail(R"({"usage":{"note":"a \"}\" {b}","output_tokens":9,"x":{"y":"}"}}})");
  ASSERT_TRUE(braces_in_strings);
  EXPECT_EQ(braces_in_strings->output, 9);
  EXPECT_FALSE(usageFromTail(R"({"usage":null})"));
  EXPECT_FALSE(usageFromTail(R"({"usage":{"output_tokens":}})")) << "malformed: no guess";
  EXPECT_FALSE(usageFromTail(R"({"usage")"));
  EXPECT_FALSE(usageFromTail(""));
}

TEST(Pricing, UsageAfterALargeImageIsFound) {
  std::string body = R"({"data":[{"b64_json":")" + std::string(1'500'000, 'A') +
                     R"("}],"usage":{"output_tokens":4160,"input_tokens":12}})";
  auto usage = usageFromTail(body);
  ASSERT_TRUE(usage);
  EXPECT_EQ(usage->output, 4160);
  EXPECT_EQ(usage->text_input, 12);
  EXPECT_FALSE(usageFromTail(std::string_view(body).substr(0, body.size() - 3)));
}

TEST(Pricing, AStoredAnswerCountsItsImagesFromItsEndOrAsAsked) {
  std::string images(10'000, 'A');  // the usage comes after 10 KB of image data
  EXPECT_EQ(imagesInAnswer(R"({"data":[{"b64_json":")" + images +
                               R"("}],"usage":{"generated_images":3,"output_tokens":1}})",
                           1),
            3);
  EXPECT_EQ(imagesInAnswer(R"({"data":[],"usage":{"output_tokens":4160}})", 2), 2);
  EXPECT_EQ(imagesInAnswer(R"({"usage":{"generated_images":-1}})", 4), 4);
  EXPECT_EQ(imagesInAnswer("", 1), 1);
}

TEST(Pricing, SeedreamsUsageCountsTheImagesItMade) {
  auto seedream = usageFromTail(
      "event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\","
      "\"usage\":{\"generated_images\":3,\"output_tokens\":12288}}\n\ndata: [DONE]\n\n");
  ASSERT_TRUE(seedream);
  EXPECT_EQ(seedream->generated_images, 3);
  EXPECT_TRUE(mayCountImages(R"("usage":{"generated_images":3}})"));
  EXPECT_FALSE(mayCountImages(R"({"usage":{"output_tokens":4160}})"));
  EXPECT_FALSE(usageFromTail(R"("usage":{"generated_images":-2}})")->generated_images);
  EXPECT_FALSE(usageFromTail(R"("usage":{"generated_images":"3"}})")->generated_images);
  // Priced per image, a Seedream set costs what it holds.
  ModelPrice price;
  price.per_image["*"]["*"] = 0.01;
  EXPECT_DOUBLE_EQ(
      responseCost(price, "", "", size_t(*seedream->generated_images), seedream).value(), 0.03);
}

}  // namespace
}  // namespace arkroute
