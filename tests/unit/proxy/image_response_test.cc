// Unit tests for stored-response transforms (proxy/image_response.cc) and SSE capture.
#include "proxy/image_response.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/response_capture.h"
#include "proxy/sse_capture.h"

namespace arkroute {
namespace {

using nlohmann::json;

constexpr size_t kLimit = 1 << 20;

// "iVBORw0KGgo=" is the base64 of the 8-byte PNG signature.
const std::string kStored =
    R"({"created":1767225600,"data":[{"b64_json":"iVBORw0KGgo="},{"b64_json":"/9j/4A=="}],"usage":{"total_tokens":10},"size":"1024x1024","quality":"high","output_format":"png"})";

TEST(ImageResponse, CacheabilityNeedsANonEmptyDataArrayOfBase64Images) {
  EXPECT_TRUE(isCacheableImagesJson(kStored));
  EXPECT_EQ(imageCount(kStored), 2u);
  EXPECT_FALSE(isCacheableImagesJson(R"({"data":[]})"));
  EXPECT_FALSE(isCacheableImagesJson(R"({"data":[{"url":"http://x"}]})"));
  EXPECT_FALSE(isCacheableImagesJson(R"({"error":{"message":"no"}})"));
  EXPECT_FALSE(isCacheableImagesJson(R"({"data":[{"b64_json":"iVBOR)"));
}

TEST(ImageResponse, ReplaysAsOneCompletedEventPerImage) {
  std::string sse = toSseReplay(kStored).value();
  SseCapture capture(kLimit);
  capture.feed(sse);
  EXPECT_EQ(capture.completedEvents(), 2u);
  json first =
      json::parse(sse.substr(sse.find("data: ") + 6, sse.find("\n\n") - sse.find("data: ") - 6));
  EXPECT_EQ(first["type"], "image_generation.completed");
  EXPECT_EQ(first["b64_json"], "iVBORw0KGgo=");
  EXPECT_EQ(first["size"], "1024x1024");
  EXPECT_EQ(first["usage"]["total_tokens"], 10);
}

// An edit's stream: image_edit.* events, replayed and captured under that name only.
TEST(ImageResponse, AnEditIsReplayedAndCapturedAsImageEditEvents) {
  std::string sse = toSseReplay(kStored, ImageEvents::kEdit).value();
  EXPECT_EQ(sse.find("image_generation"), std::string::npos) << sse;
  EXPECT_EQ(sse.rfind("event: image_edit.completed\ndata: {", 0), 0u) << sse;
  EXPECT_EQ(json::parse(sse.substr(sse.find("data: ") + 6,
                                   sse.find("\n\n") - sse.find("data: ") - 6))["type"],
            "image_edit.completed");
  SseCapture edit(kLimit, ImageEvents::kEdit);
  edit.feed(sse);
  edit.feed("event: image_edit.partial_image\ndata: {\"b64_json\":\"AA==\"}\n\n");
  edit.feed("data: {\"type\":\"image_edit.completed\",\"b64_json\":\"AA==\"}\n\n");  // unnamed
  EXPECT_EQ(edit.completedEvents(), 3u);
  SseCapture generation(kLimit);
  generation.feed(sse);
  EXPECT_EQ(generation.completedEvents(), 0u)
      << "not the events a generation stream completes with";
}

TEST(ImageResponse, UrlResponsePointsAtTheGatewayAndKeepsOtherFields) {
  json out = json::parse(toUrlResponse(kStored, "https://gw.example/", "abc").value());
  EXPECT_EQ(out["data"][0]["url"], "https://gw.example/v1/images/cache/abc-0");
  EXPECT_EQ(out["data"][1]["url"], "https://gw.example/v1/images/cache/abc-1");
  EXPECT_FALSE(out["data"][0].contains("b64_json"));
  EXPECT_EQ(out["created"], 1767225600);
  EXPECT_EQ(out["quality"], "high");
}

TEST(ImageResponse, UrlAnswersKeepEveryOtherFieldInOrderAndEscapeText) {
  std::string stored =
      R"({"created":1,"data":[{"revised_prompt":"a \"quoted\" cat","b64_json":"iVBORw0KGgo="}],)"
      R"("usage":{"total_tokens":10,"input_tokens_details":{"text_tokens":3}}})";
  std::string answer = toUrlResponse(stored, "http://gw/a\"b/", "id9").value();
  EXPECT_EQ(
      answer,
      R"({"created":1,"usage":{"total_tokens":10,"input_tokens_details":{"text_tokens":3}},)"
      R"("data":[{"revised_prompt":"a \"quoted\" cat","url":"http://gw/a\"b/v1/images/cache/id9-0"}]})");
  EXPECT_NO_THROW(json::parse(answer));
  std::string odd =
      toUrlResponse(R"({"x\u0001y":"\\","data":[{"b64_json":"iVBORw0KGgo="}]})", "g", "i").value();
  EXPECT_EQ(json::parse(odd)["x\u0001y"], "\\") << odd;
  EXPECT_FALSE(toUrlResponse(R"({"data":[]})", "http://gw", "x").has_value());
}

TEST(ImageResponse, ExtractsImagesAndDetectsTheirType) {
  std::string png = imageBytes(kStored, 0).value();
  EXPECT_EQ(png, std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(detectImageType(png), "image/png");
  EXPECT_EQ(detectImageType(imageBytes(kStored, 1).value()), "image/jpeg");
  EXPECT_FALSE(imageBytes(kStored, 2).has_value());
  EXPECT_EQ(detectImageType("RIFF1234WEBPVP8 "), "image/webp");
  EXPECT_EQ(detectImageType("GIF89a..."), "image/gif");
  EXPECT_EQ(detectImageType("hello"), "application/octet-stream");
  EXPECT_FALSE(decodeBase64("abc").has_value());
}

TEST(SseCapture, CollectsCompletedEventsAcrossArbitrarySplits) {
  std::string stream =
      "event: image_generation.partial_image\ndata: {\"type\":\"image_generation.partial_image\","
      "\"b64_json\":\"UEFS\",\"partial_image_index\":0}\n\n"
      "event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\","
      "\"b64_json\":\"iVBORw0KGgo=\",\"created_at\":5,\"size\":\"1024x1024\","
      "\"usage\":{\"total_tokens\":3}}\n\n";
  SseCapture capture(kLimit);
  for (char c : stream) capture.feed(std::string_view(&c, 1));
  ASSERT_EQ(capture.completedEvents(), 1u);
  json stored = json::parse(capture.imagesJson().value());
  EXPECT_EQ(stored["created"], 5);
  EXPECT_EQ(stored["data"][0]["b64_json"], "iVBORw0KGgo=");
  EXPECT_EQ(stored["usage"]["total_tokens"], 3);
  EXPECT_TRUE(isCacheableImagesJson(capture.imagesJson().value()));
}

TEST(SseCapture, StreamsWithoutACompletedEventOrWithAnErrorAreNotCacheable) {
  SseCapture partial_only(kLimit);
  partial_only.feed("event: image_generation.partial_image\ndata: {\"b64_json\":\"AA==\"}\n\n");
  EXPECT_FALSE(partial_only.imagesJson().has_value());
  SseCapture with_error(kLimit);
  with_error.feed(
      "event: image_generation.completed\ndata: {\"type\":\"image_generation.completed\","
      "\"b64_json\":\"AA==\"}\n\nevent: error\ndata: {\"type\":\"error\"}\n\n");
  EXPECT_FALSE(with_error.imagesJson().has_value());
}

// The same two events with every line ending SSE allows, a comment and a two-line data field.
std::string streamWithEndings(std::string_view eol) {
  std::string s;
  for (std::string_view line :
       {": keep-alive", "", "event: image_generation.partial_image",
        R"(data: {"type":"image_generation.partial_image","b64_json":"UEFS"})", "",
        "event:image_generation.completed", R"(data:{"type":"image_generation.completed",)",
        R"(data: "b64_json":"iVBORw0KGgo=","created_at":7})", ""}) {
    s.append(line);
    s.append(eol);
  }
  return s;
}

TEST(SseCapture, ReadsLfCrlfAndCrLineEndingsSplitAnywhere) {
  const std::string expected = R"({"created":7,"data":[{"b64_json":"iVBORw0KGgo="}]})";
  for (std::string_view eol : {"\n", "\r\n", "\r"}) {
    std::string stream = streamWithEndings(eol);
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
      SseCapture capture(kLimit);
      capture.feed(std::string_view(stream).substr(0, cut));
      capture.feed(std::string_view(stream).substr(cut));
      ASSERT_EQ(capture.imagesJson().value_or("none"), expected) << "cut at " << cut;
    }
    SseCapture bytewise(kLimit);
    for (char c : stream) bytewise.feed(std::string_view(&c, 1));
    EXPECT_EQ(bytewise.imagesJson().value_or("none"), expected);
  }
}

TEST(SseCapture, UnnamedEventsAreToldByTheTypeInTheirData) {
  SseCapture completed(kLimit);
  completed.feed("data: {\"type\":\"image_generation.completed\",\"b64_json\":\"AA==\"}\n\n");
  EXPECT_EQ(completed.imagesJson().value_or("none"),
            R"({"created":0,"data":[{"b64_json":"AA=="}]})");
  SseCapture failed(kLimit);
  failed.feed(
      "event: image_generation.completed\ndata: {\"b64_json\":\"AA==\"}\n\n"
      "data: {\"type\":\"error\",\"error\":{\"message\":\"x\"}}\n\n");
  EXPECT_FALSE(failed.imagesJson().has_value());
}

TEST(SseCapture, APartialImageIsNotCopiedAside) {
  SseCapture capture(kLimit);
  capture.feed("event: image_generation.partial_image\ndata: {\"b64_json\":\"" +
               std::string(50000, 'A') + "\"}\n");
  // Only the line being read may hold it; once the line ends, the partial's data is not kept.
  EXPECT_LT(capture.retainedBytes(), 100u);
  capture.feed("\n");
  EXPECT_EQ(capture.completedEvents(), 0u);
  EXPECT_EQ(capture.retainedBytes(), 0u);
}

TEST(SseCapture, AnEventCutByTheEndOfTheStreamIsNotCollected) {
  SseCapture capture(kLimit);
  capture.feed("event: image_generation.completed\ndata: {\"b64_json\":\"AA==\"}\n");
  EXPECT_EQ(capture.completedEvents(), 0u);
  EXPECT_FALSE(capture.imagesJson().has_value());
}

TEST(SseCapture, GivesUpPastItsLimitAndFreesWhatItHeld) {
  SseCapture capture(1000);
  capture.feed("event: image_generation.completed\ndata: {\"b64_json\":\"AA==\"}\n\n");
  ASSERT_EQ(capture.completedEvents(), 1u);
  // One event whose data never ends (no line ending): held bytes never pass the limit.
  capture.feed("event: image_generation.partial_image\ndata: ");
  std::string piece(97, 'A');
  for (int i = 0; i < 50; ++i) {
    capture.feed(piece);
    ASSERT_LE(capture.retainedBytes(), 1000u);
  }
  EXPECT_TRUE(capture.overflowed());
  EXPECT_EQ(capture.retainedBytes(), 0u);
  capture.feed("\n\nevent: image_generation.completed\ndata: {\"b64_json\":\"AA==\"}\n\n");
  EXPECT_EQ(capture.retainedBytes(), 0u);
  EXPECT_FALSE(capture.imagesJson().has_value());  // a stream given up on is never stored
}

TEST(SseCapture, CompletedEventsTogetherCountTowardsTheLimit) {
  SseCapture capture(1000);
  std::string event = "event: image_generation.completed\ndata: {\"b64_json\":\"" +
                      std::string(300, 'A') + "\"}\n\n";
  for (int i = 0; i < 3; ++i) capture.feed(event);
  EXPECT_EQ(capture.completedEvents(), 3u);
  capture.feed(event);
  EXPECT_TRUE(capture.overflowed());
  EXPECT_EQ(capture.completedEvents(), 0u);
}

TEST(ResponseCapture, AStreamPastTheLimitIsOverflowedAndNotCacheable) {
  ResponseCapture capture(/*stream=*/true, 100);
  capture.append("event: image_generation.completed\ndata: {\"b64_json\":\"");
  capture.append(std::string(200, 'A'));
  capture.append("\"}\n\n");
  EXPECT_TRUE(capture.overflowed());
  EXPECT_FALSE(capture.takeCacheable(200).has_value());
}

TEST(ResponseCapture, ACacheableJsonBodyIsCheckedOnceAndMovedOut) {
  ResponseCapture capture(/*stream=*/false, kLimit);
  capture.expectLength(kStored.size());
  for (size_t at = 0; at < kStored.size(); at += 7) capture.append(kStored.substr(at, 7));
  EXPECT_EQ(capture.raw(), kStored);
  EXPECT_FALSE(capture.takeCacheable(500).has_value());
  auto taken = capture.takeCacheable(200);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->json, kStored);
  EXPECT_EQ(taken->images, 2u);
  EXPECT_TRUE(capture.raw().empty());
}

TEST(ResponseCapture, ABodyThatIsNotCacheableStaysForTheAnswer) {
  const std::string error = R"({"error":{"message":"no"}})";
  ResponseCapture capture(/*stream=*/false, kLimit);
  capture.append(error);
  EXPECT_FALSE(capture.takeCacheable(200).has_value());
  EXPECT_EQ(capture.raw(), error);
}

TEST(ResponseCapture, AFalseLengthReservesNothingPastTheLimit) {
  ResponseCapture capture(/*stream=*/false, 100);
  capture.expectLength(uint64_t{1} << 40);
  EXPECT_LT(capture.raw().capacity(), 1000u);
  capture.expectLength(50);
  EXPECT_GE(capture.raw().capacity(), 50 + kJsonPadding);
}

TEST(ImageResponse, CountingInPlaceAgreesWithAndWithoutSparePadding) {
  std::string tight = kStored;
  tight.shrink_to_fit();
  std::string padded = kStored;
  padded.reserve(kStored.size() + kJsonPadding);
  EXPECT_EQ(imageCount(tight), 2u);
  EXPECT_EQ(imageCount(padded), 2u);
  std::string cut = kStored.substr(0, kStored.size() - 1);
  cut.reserve(cut.size() + kJsonPadding);
  EXPECT_EQ(imageCount(cut), 0u);
}

}  // namespace
}  // namespace arkroute
