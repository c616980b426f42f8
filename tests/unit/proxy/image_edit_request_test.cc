// Unit tests for edit requests (proxy/image_edit_request.cc): form fields read as a generation's.
#include <gtest/gtest.h>

#include "proxy/image_request.h"

namespace arkroute {
namespace {

constexpr std::string_view kType = "multipart/form-data; boundary=b0undary";

std::string form(std::initializer_list<std::pair<std::string, std::string>> fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    body += "--b0undary\r\nContent-Disposition: form-data; name=\"" + name + "\"";
    if (name.starts_with("image")) body += "; filename=\"in.png\"\r\nContent-Type: image/png";
    body += "\r\n\r\n" + value + "\r\n";
  }
  return body + "--b0undary--\r\n";
}

ApiError editErrorOf(const std::string& body, std::string_view type = kType) {
  auto result = ImageRequest::parseEdit(body, type);
  EXPECT_TRUE(std::holds_alternative<ApiError>(result)) << body;
  return std::holds_alternative<ApiError>(result) ? std::get<ApiError>(result) : ApiError{};
}

TEST(ImageEditRequest, ReadsTheFormFieldsAsAGenerationsFields) {
  std::string body = form({{"image[]", "\x89PNG-1"},
                           {"image[]", "\x89PNG-2"},
                           {"model", "gpt-image-1"},
                           {"prompt", "add a hat"},
                           {"n", "3"},
                           {"stream", "true"},
                           {"size", "1024x1536"},
                           {"quality", "high"},
                           {"input_fidelity", "high"}});
  auto result = ImageRequest::parseEdit(body, kType);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result));
  auto& request = *std::get<std::unique_ptr<ImageRequest>>(result);
  EXPECT_TRUE(request.isEdit());
  EXPECT_EQ(request.model(), "gpt-image-1");
  EXPECT_EQ(request.prompt(), "add a hat");
  EXPECT_EQ(request.n(), 3);
  EXPECT_TRUE(request.stream());
  EXPECT_EQ(request.size(), "1024x1536");
  EXPECT_EQ(request.quality(), "high");
  EXPECT_EQ(request.body(), body);
  ASSERT_TRUE(request.editForm());
  EXPECT_EQ(request.editForm()->boundary, "b0undary");
  ASSERT_EQ(request.editForm()->parts.size(), 9u);
  EXPECT_EQ(request.editForm()->parts[2].value(body), "gpt-image-1");
}

TEST(ImageEditRequest, ReadsStreamInAnyCase) {
  for (const char* text : {"true", "True", "TRUE"}) {
    auto result = ImageRequest::parseEdit(
        form({{"image", "x"}, {"model", "m"}, {"prompt", "p"}, {"stream", text}}), kType);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result)) << text;
    EXPECT_TRUE(std::get<std::unique_ptr<ImageRequest>>(result)->stream()) << text;
  }
  auto result = ImageRequest::parseEdit(
      form({{"image", "x"}, {"model", "m"}, {"prompt", "p"}, {"stream", "False"}}), kType);
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result));
  EXPECT_FALSE(std::get<std::unique_ptr<ImageRequest>>(result)->stream());
}

TEST(ImageEditRequest, DefaultsLikeAGeneration) {
  const std::string body = form({{"image", "x"}, {"model", "m"}, {"prompt", "p"}});
  auto result = ImageRequest::parseEdit(body, kType);  // borrows body
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(result));
  auto& request = *std::get<std::unique_ptr<ImageRequest>>(result);
  EXPECT_EQ(request.model(), "m");
  EXPECT_EQ(request.n(), 1);
  EXPECT_FALSE(request.stream());
  EXPECT_EQ(request.responseFormat(), "");
}

TEST(ImageEditRequest, RefusesABodyThatIsNotAForm) {
  ApiError json = editErrorOf(R"({"model":"m","prompt":"p"})", "application/json");
  EXPECT_EQ(json.status, 400);
  EXPECT_EQ(json.code, "invalid_content_type");
  ApiError broken =
      editErrorOf("--b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv");
  EXPECT_EQ(broken.code, "invalid_multipart");
  EXPECT_NE(broken.message.find("closing boundary"), std::string::npos);
}

TEST(ImageEditRequest, RefusesMissingOrBadFields) {
  EXPECT_EQ(editErrorOf(form({{"image", "x"}, {"model", "m"}})).param, "prompt");
  EXPECT_EQ(editErrorOf(form({{"image", "x"}, {"prompt", "p"}})).param, "model");
  ApiError no_image = editErrorOf(form({{"model", "m"}, {"prompt", "p"}}));
  EXPECT_EQ(no_image.param, "image");
  EXPECT_EQ(no_image.code, "missing_required_parameter");
  for (const char* n : {"0", "11", "two", "2.5", ""}) {
    ApiError bad = editErrorOf(form({{"image", "x"}, {"model", "m"}, {"prompt", "p"}, {"n", n}}));
    EXPECT_EQ(bad.param, "n") << n;
  }
  ApiError stream =
      editErrorOf(form({{"image", "x"}, {"model", "m"}, {"prompt", "p"}, {"stream", "yes"}}));
  EXPECT_EQ(stream.param, "stream");
  ApiError format = editErrorOf(
      form({{"image", "x"}, {"model", "m"}, {"prompt", "p"}, {"response_format", "gif"}}));
  EXPECT_EQ(format.param, "response_format");
  // Errors come in a fixed order, whatever the order of the parts.
  EXPECT_EQ(editErrorOf(form({{"n", "0"}, {"image", "x"}, {"model", "m"}})).param, "prompt");
  EXPECT_EQ(
      editErrorOf(form({{"stream", "no"}, {"n", "0"}, {"model", "m"}, {"prompt", "p"}})).param,
      "n");
}

TEST(ImageEditRequest, RefusesAFieldGivenTwiceButNotRepeatedImages) {
  ApiError twice =
      editErrorOf(form({{"image", "x"}, {"model", "m"}, {"model", "other"}, {"prompt", "p"}}));
  EXPECT_EQ(twice.code, "duplicate_field");
  EXPECT_EQ(twice.param, "model");
  EXPECT_EQ(
      editErrorOf(form({{"image", "x"}, {"image", "y"}, {"model", "m"}, {"prompt", "p"}})).code,
      "duplicate_field");
  auto repeated = ImageRequest::parseEdit(
      form({{"image[]", "x"}, {"image[]", "y"}, {"model", "m"}, {"prompt", "p"}}), kType);
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<ImageRequest>>(repeated));
}

}  // namespace
}  // namespace arkroute
