// Unit tests for request validation (proxy/image_request.cc) and body rewriting.
#include "proxy/image_request.h"

#include <gtest/gtest.h>

#include "proxy/body_rewrite.h"
#include "proxy/http/headers.h"

namespace arkroute {
namespace {

ApiError errorOf(const std::string& body) {
  auto result = ImageRequest::parse(body);
  EXPECT_TRUE(std::holds_alternative<ApiError>(result)) << body;
  return std::holds_alternative<ApiError>(result) ? std::get<ApiError>(result) : ApiError{};
}

TEST(ImageRequest, AcceptsAMinimalRequestAndReadsItsFields) {
  auto result = ImageRequest::parse(
      R"({"model":"gpt-image-1","prompt":"cat","n":3,"stream":true,"response_format":"url","size":"1024x1536","quality":"high","extra":{"a":1}})");
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result));
  auto& request = *std::get<std::unique_ptr<ImageRequest>>(result);
  EXPECT_EQ(request.model(), "gpt-image-1");
  EXPECT_EQ(request.n(), 3);
  EXPECT_TRUE(request.stream());
  EXPECT_EQ(request.responseFormat(), "url");
  EXPECT_EQ(request.size(), "1024x1536");
  EXPECT_EQ(request.quality(), "high");
}

// The server leaves http::kBodyPadding spare bytes after a body: it is parsed where it is. A body
// without them (built elsewhere) is copied first, and reads the same.
TEST(ImageRequest, AParsedInPlaceBodyIsReadWhereItIsOnlyWithItsPadding) {
  const std::string json = R"({"model":"gpt-image-1","prompt":"a lighthouse","n":2})";
  std::string padded;
  padded.reserve(json.size() + http::kBodyPadding);
  padded.assign(json);
  std::string tight = json;
  tight.shrink_to_fit();
  ASSERT_LT(tight.capacity() - tight.size(), http::kBodyPadding);
  for (const std::string* body : {&padded, &tight}) {
    auto result = ImageRequest::parseInPlace(*body);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result));
    auto& request = *std::get<std::unique_ptr<ImageRequest>>(result);
    EXPECT_EQ(request.body().data() == body->data(), body == &padded);
    EXPECT_EQ(request.body(), json);
    EXPECT_EQ(request.prompt(), "a lighthouse");
    EXPECT_EQ(request.n(), 2);
  }
  EXPECT_TRUE(std::holds_alternative<ApiError>(ImageRequest::parseInPlace(padded + "}")));
}

TEST(ImageRequest, AcceptsAnIntegralFloatCount) {
  auto result = ImageRequest::parse(R"({"model":"m","prompt":"p","n":2.0})");
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result));
  EXPECT_EQ(std::get<std::unique_ptr<ImageRequest>>(result)->n(), 2);
}

// Valid JSON with an integer no 64-bit integer holds (in a field the gateway does not know) is
// accepted and kept byte for byte; in n it is out of range, not "invalid JSON".
TEST(ImageRequest, IntegersBeyondSixtyFourBitsAreValidJson) {
  const std::string body =
      R"({"model":"gpt-image-1","prompt":"big","seed":100000000000000000000,"n":2})";
  auto result = ImageRequest::parse(body);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result))
      << std::get<ApiError>(result).message;
  auto& request = *std::get<std::unique_ptr<ImageRequest>>(result);
  EXPECT_EQ(request.body(), body);
  EXPECT_EQ(request.n(), 2);
  EXPECT_EQ(request.prompt(), "big");
  EXPECT_EQ(errorOf(R"({"model":"m","prompt":"p","n":100000000000000000000})").code,
            "integer_out_of_range");
  EXPECT_EQ(errorOf(R"({"model":"m","prompt":"p","n":1e20})").code, "integer_out_of_range")
      << "checked before any conversion to an integer it does not fit";
  EXPECT_EQ(errorOf(R"({"model":"m","prompt":"p","n":1,)").code, "invalid_json");
}

TEST(ImageRequest, ReadsOnlyTopLevelFields) {
  auto result = ImageRequest::parse(
      R"({"extra":{"prompt":"nested","n":99,"model":"x"},"prompt":"first","model":"m","n":2})");
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result));
  auto& request = *std::get<std::unique_ptr<ImageRequest>>(result);
  EXPECT_EQ(request.prompt(), "first");
  EXPECT_EQ(request.model(), "m");
  EXPECT_EQ(request.n(), 2);
  EXPECT_EQ(request.responseFormat(), "");
  // Errors are reported in a fixed order, whatever the order of the fields in the body.
  EXPECT_EQ(errorOf(R"({"size":7,"n":0,"model":"m","prompt":"p"})").param, "n");
  EXPECT_EQ(errorOf(R"({"size":7,"model":"m","prompt":null})").param, "prompt");
}

// The gateway would read a repeated field's first copy, many providers' JSON parsers keep the
// last: a field the gateway reads, given twice, is refused, so that a key limited to one model (or
// priced for one n, size or quality) cannot ask the provider for another.
TEST(ImageRequest, RefusesAFieldItReadsGivenTwice) {
  ApiError model = errorOf(R"({"model":"gpt-image-1-mini","prompt":"x","model":"gpt-image-1"})");
  EXPECT_EQ(model.status, 400);
  EXPECT_EQ(model.code, "duplicate_field");
  EXPECT_EQ(model.param, "model");
  EXPECT_EQ(model.message, "The field 'model' is given more than once.");
  EXPECT_EQ(errorOf(R"({"model":"m","prompt":"p","n":1,"n":10})").param, "n");
  EXPECT_EQ(errorOf(R"({"model":"m","prompt":"p","quality":"low","quality":"high"})").param,
            "quality");
  EXPECT_EQ(errorOf(R"({"size":"a","model":"m","prompt":"p","size":"b","n":1,"n":2})").param,
            "size");
  auto unread =
      ImageRequest::parse(R"({"model":"m","prompt":"p","background":"a","background":"b"})");
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(unread))
      << "a field the gateway does not read goes on as sent";
}

TEST(ImageRequest, RejectsEachInvalidInputWithItsParamAndCode) {
  EXPECT_EQ(errorOf("{").code, "invalid_json");
  EXPECT_EQ(errorOf("\"text\"").code, "invalid_json");
  EXPECT_EQ(errorOf(R"({"model":"m"})").param, "prompt");
  EXPECT_EQ(errorOf(R"({"model":"m","prompt":5})").code, "invalid_type");
  EXPECT_EQ(errorOf(R"({"prompt":"p"})").param, "model");
  EXPECT_EQ(errorOf(R"({"prompt":"p","model":["x"]})").code, "invalid_type");
  EXPECT_EQ(errorOf(R"({"prompt":"p","model":"m","n":1.5})").code, "invalid_type");
  EXPECT_EQ(errorOf(R"({"prompt":"p","model":"m","n":-1})").code, "integer_out_of_range");
  EXPECT_EQ(errorOf(R"({"prompt":"p","model":"m","stream":"yes"})").param, "stream");
  EXPECT_EQ(errorOf(R"({"prompt":"p","model":"m","response_format":"gif"})").code, "invalid_value");
  EXPECT_EQ(errorOf(R"({"prompt":"p"})").status, 400);
}

TEST(ImageRequest, ErrorsSerialiseInOpenAIShape) {
  ApiError error = errorOf(R"({"prompt":"p","model":"m","n":0})");
  EXPECT_EQ(
      error.toJson(),
      R"({"error":{"code":"integer_out_of_range","message":"Invalid value for 'n': 0. It must be between 1 and 10.","param":"n","type":"invalid_request_error"}})");
  EXPECT_EQ(ApiError::internal("boom").toJson(),
            R"({"error":{"code":null,"message":"boom","param":null,"type":"server_error"}})");
}

TEST(BodyRewrite, ReplacesOnlyTheModelValueAndKeepsEveryOtherByte) {
  EXPECT_EQ(setTopLevelString(R"({ "prompt" : "a \"q\"", "model" :  "old" , "x":[1.50]})", "model",
                              "new-model"),
            R"({ "prompt" : "a \"q\"", "model" :  "new-model" , "x":[1.50]})");
}

TEST(BodyRewrite, IgnoresNestedFieldsOfTheSameName) {
  EXPECT_EQ(setTopLevelString(R"({"meta":{"model":"inner"},"model":"outer"})", "model", "m2"),
            R"({"meta":{"model":"inner"},"model":"m2"})");
}

TEST(BodyRewrite, AddsAnAbsentFieldAndEscapesValues) {
  EXPECT_EQ(setTopLevelString(R"({"prompt":"p"})", "response_format", "b64_json"),
            R"({"response_format":"b64_json","prompt":"p"})");
  EXPECT_EQ(setTopLevelString("{}", "model", "a\"b"), R"({"model":"a\"b"})");
  EXPECT_FALSE(setTopLevelString("[1]", "model", "x").has_value());
  EXPECT_FALSE(setTopLevelString("{bad", "model", "x").has_value());
}

}  // namespace
}  // namespace arkroute
