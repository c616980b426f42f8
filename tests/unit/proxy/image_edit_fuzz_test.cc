// Property tests for edit requests: 20,000 randomly damaged edit forms (seeded) through
// ImageRequest::parseEdit and the edit cache key. Each is refused with an OpenAI-style 400, or
// read into fields that lie inside the body, with n in range, an image part, and a cache key that
// is the same every time it is made. Bodies sit in exact-size buffers (reads past the end fail
// under AddressSanitizer).
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "proxy/image_request.h"
#include "unit/proxy/http/form_damage.h"

namespace arkroute {
namespace {

constexpr std::string_view kEditBoundary = "fuzz-b0undary";
constexpr std::string_view kEditType = "multipart/form-data; boundary=fuzz-b0undary";

std::string validEdit() {
  std::string body;
  auto add = [&](const std::string& disposition, const std::string& contents) {
    body += "--" + std::string(kEditBoundary) + "\r\nContent-Disposition: form-data; " +
            disposition + "\r\n\r\n" + contents + "\r\n";
  };
  add("name=\"model\"", "gpt-image-1");
  add("name=\"prompt\"", "add a hat");
  add("name=\"n\"", "2");
  add("name=\"stream\"", "false");
  add("name=\"image[]\"; filename=\"a.png\"\r\nContent-Type: image/png", "\x89PNG one");
  add("name=\"image[]\"; filename=\"b.png\"\r\nContent-Type: image/png", "\x89PNG two");
  return body + "--" + std::string(kEditBoundary) + "--\r\n";
}

bool inside(std::string_view field, std::string_view body) {
  return field.empty() ||
         (field.data() >= body.data() && field.data() + field.size() <= body.data() + body.size());
}

std::string editKeyHex(const ImageRequest& request) {
  return request.cacheKey("sim", "gpt-image-1", "").hex();
}

// Checks one damaged edit; returns whether it was accepted.
bool checkEdit(const std::string& text) {
  fuzz::ExactCopy copy(text);
  std::string_view body = copy.view();
  auto result = ImageRequest::parseEdit(body, kEditType);
  if (auto* error = std::get_if<ApiError>(&result)) {
    EXPECT_EQ(error->status, 400) << error->message;  // no model lookup happens here
    EXPECT_FALSE(error->message.empty());
    EXPECT_TRUE(error->code.has_value()) << error->message;
    return false;
  }
  const ImageRequest& request = *std::get<std::unique_ptr<ImageRequest>>(result);
  EXPECT_TRUE(inside(request.model(), body));
  EXPECT_TRUE(inside(request.prompt(), body));
  EXPECT_FALSE(request.prompt().empty());
  EXPECT_GE(request.n(), 1);
  EXPECT_LE(request.n(), 10);
  bool has_image = false;
  for (const http::FormPart& part : request.editForm()->parts) {
    EXPECT_LE(part.value_at + part.value_length, body.size());
    has_image = has_image || part.name == "image" || part.name == "image[]";
  }
  EXPECT_TRUE(has_image);
  EXPECT_EQ(editKeyHex(request), editKeyHex(request));
  return true;
}

TEST(ImageEditFuzz, DamagedEditsAreRefusedWith400OrReadInsideTheBody) {
  ASSERT_TRUE(checkEdit(validEdit()));
  std::mt19937 random(1201);
  int accepted = 0;
  constexpr int kRounds = 20000;
  for (int round = 0; round < kRounds && !::testing::Test::HasFailure(); ++round) {
    accepted += checkEdit(fuzz::damageForm(validEdit(), kEditBoundary, random)) ? 1 : 0;
    if (::testing::Test::HasFailure()) ADD_FAILURE() << "round " << round;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, kRounds);
}

}  // namespace
}  // namespace arkroute
