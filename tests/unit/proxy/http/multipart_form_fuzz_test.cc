// Property tests for multipart/form-data parsing: thousands of randomly damaged forms (bytes
// flipped, inserted, deleted, cut short; seeded, so a failure repeats). Each must either be refused
// with a reason or give parts that lie inside the body, hold no delimiter, and survive fields being
// set (one part's contents replaced, one part added). The bodies sit in buffers of their exact
// size, so under AddressSanitizer a read past the end fails the run.
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "proxy/http/multipart_form.h"
#include "unit/proxy/http/form_damage.h"

namespace arkroute::http {
namespace {

constexpr std::string_view kFuzzBoundary = "b0undary-7";
constexpr int kRounds = 20000;

std::string validForm() {
  std::string body;
  auto add = [&](const std::string& headers, const std::string& contents) {
    body += "--" + std::string(kFuzzBoundary) + "\r\n" + headers + "\r\n\r\n" + contents + "\r\n";
  };
  add("Content-Disposition: form-data; name=\"model\"", "gpt-image-1");
  add("Content-Disposition: form-data; name=\"prompt\"", "add a hat\r\n-- not a delimiter");
  add("Content-Disposition: form-data; name=\"image[]\"; filename=\"a.png\"\r\n"
      "Content-Type: image/png",
      std::string("\x89PNG\r\n\x1a\n\0\0-\r", 13));
  return body + "--" + std::string(kFuzzBoundary) + "--\r\n";
}

// Checks one parse of body (held in an exact-size heap buffer); returns whether it was accepted.
bool checkParse(const std::string& text) {
  fuzz::ExactCopy copy(text);
  std::string_view body = copy.view();
  auto parsed = parseForm(body, kFuzzBoundary);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    EXPECT_FALSE(why->empty()) << "a refusal says why";
    return false;
  }
  const auto& parts = std::get<std::vector<FormPart>>(parsed);
  const std::string delimiter = "--" + std::string(kFuzzBoundary);  // with or without its CRLF
  for (const FormPart& part : parts) {
    EXPECT_LE(part.value_at + part.value_length, body.size());
    EXPECT_EQ(part.value(body).find(delimiter), std::string_view::npos);
  }
  if (!parts.empty()) {
    auto replaced = setFormFields(body, kFuzzBoundary, parts,
                                  {{parts.front().name, "replacement"}, {"arkroute-added", "new"}});
    EXPECT_TRUE(replaced.has_value());
    if (replaced) {
      auto again = parseForm(*replaced, kFuzzBoundary);
      EXPECT_TRUE(std::holds_alternative<std::vector<FormPart>>(again)) << *replaced;
      if (auto* reparsed = std::get_if<std::vector<FormPart>>(&again)) {
        EXPECT_EQ(reparsed->size(), parts.size() + 1);
        EXPECT_EQ(reparsed->front().value(*replaced), "replacement");
        EXPECT_EQ(reparsed->back().name, "arkroute-added");
        EXPECT_EQ(reparsed->back().value(*replaced), "new");
      }
    }
  }
  return true;
}

TEST(MultipartFuzz, DamagedFormsAreRefusedOrParseIntoPartsInsideTheBody) {
  ASSERT_TRUE(checkParse(validForm()));
  std::mt19937 random(20261201);
  int accepted = 0;
  for (int round = 0; round < kRounds && !::testing::Test::HasFailure(); ++round) {
    std::string body = arkroute::fuzz::damageForm(validForm(), kFuzzBoundary, random);
    accepted += checkParse(body) ? 1 : 0;
    if (::testing::Test::HasFailure()) ADD_FAILURE() << "round " << round;
  }
  // Both outcomes are exercised: some damage (inside a value) leaves a valid form.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, kRounds);
}

TEST(MultipartFuzz, RandomContentTypesNeverYieldAnInvalidBoundary) {
  std::mt19937 random(7);
  const std::string prefix = "multipart/form-data; boundary=";
  for (int round = 0; round < kRounds; ++round) {
    std::string value = prefix;
    size_t length = random() % 90;
    for (size_t i = 0; i < length; ++i) value.push_back(static_cast<char>(32 + random() % 95));
    std::optional<std::string> boundary = formBoundary(value);
    if (!boundary) continue;
    EXPECT_GE(boundary->size(), 1u) << value;
    EXPECT_LE(boundary->size(), 70u) << value;
  }
}

}  // namespace
}  // namespace arkroute::http
