// Property test for usageFromTail, the scanner that finds a response's `usage` object without
// parsing the body: 3,000 seeded random answers (members in any order, any indentation, strings
// holding quotes, braces, backslashes and the word "usage") each read whole and from random cut
// points. Read whole, it must give what the document's usage says; cut before the usage key, the
// same; cut after it began, nothing (unless the cut splits an escape, which changes the text).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "proxy/pricing.h"

namespace arkroute {
namespace {

using ordered_json = nlohmann::ordered_json;

class AnswerMaker {
 public:
  explicit AnswerMaker(uint32_t seed) : random_(seed) {}

  int pick(int n) { return static_cast<int>(random_() % static_cast<uint32_t>(n)); }

  // Text that a scanner could take for structure if it did not skip strings.
  std::string trickyText() {
    static const char* kPieces[] = {"usage", "\"usage\":{", "}", "{",         "\\",  "\"",
                                    "\\\"}", "a b",         ":", "\"usage\"", "}}}", "\n"};
    std::string out;
    for (int i = pick(6); i > 0; --i) out += kPieces[pick(12)];
    return out;
  }

  ordered_json number() {
    switch (pick(4)) {
      case 0:
        return pick(100000);
      case 1:
        return pick(1000) + 0.5;
      case 2:
        return trickyText();  // mistyped: counts as 0
      default:
        return nullptr;
    }
  }

  ordered_json usage() {
    ordered_json u = ordered_json::object();
    u["__mark__"] = trickyText();  // first member, so the test can find the object
    if (pick(4) != 0) u["input_tokens"] = number();
    if (pick(4) != 0) u["output_tokens"] = number();
    if (pick(2) == 0) u["note"] = trickyText();
    if (pick(2) == 0) {
      ordered_json details = {{"text_tokens", number()}, {"image_tokens", number()}};
      u["input_tokens_details"] = pick(5) == 0 ? ordered_json(trickyText()) : details;
    }
    if (pick(3) == 0) u["generated_images"] = pick(4) == 0 ? number() : ordered_json(pick(5));
    return u;
  }

  ordered_json answer(const ordered_json& usage_object) {
    ordered_json doc = ordered_json::object();
    int usage_at = pick(4);
    for (int i = 0; i < 4; ++i) {
      if (i == usage_at) doc["usage"] = usage_object;
      std::string name = "m" + std::to_string(i);
      switch (pick(5)) {
        case 0:
          doc[name] = trickyText();
          break;
        case 1:
          doc[name] = ordered_json::array({{{"b64_json", std::string(pick(300), 'A')}}});
          break;
        case 2:
          doc[name] = {{"object", "usage"}, {"text", trickyText()}};
          break;
        case 3:  // a name that ends in an escaped "usage": not the key
          doc[name + "\"usage"] = {{"output_tokens", 999}};
          break;
        default:
          doc[name] = pick(10);
      }
    }
    return doc;
  }

 private:
  std::mt19937 random_;
};

double expectedNumber(const ordered_json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return 0;
  const ordered_json& value = object[key];
  return value.is_number() ? value.get<double>() : 0;
}

void expectUsage(const std::optional<TokenUsage>& got, const ordered_json& u,
                 const std::string& text) {
  ASSERT_TRUE(got) << text;
  EXPECT_DOUBLE_EQ(got->output, expectedNumber(u, "output_tokens")) << text;
  const ordered_json* details =
      u.contains("input_tokens_details") ? &u["input_tokens_details"] : nullptr;
  if (details && details->is_object()) {
    EXPECT_DOUBLE_EQ(got->text_input, expectedNumber(*details, "text_tokens")) << text;
    EXPECT_DOUBLE_EQ(got->image_input, expectedNumber(*details, "image_tokens")) << text;
  } else {
    EXPECT_DOUBLE_EQ(got->text_input, expectedNumber(u, "input_tokens")) << text;
  }
  bool counted = u.contains("generated_images") && u["generated_images"].is_number_integer() &&
                 u["generated_images"].get<int64_t>() >= 0 &&
                 u["generated_images"].get<int64_t>() <= 1000;
  EXPECT_EQ(got->generated_images.has_value(), counted) << text;
  if (counted) {
    EXPECT_EQ(*got->generated_images, u["generated_images"].get<int>()) << text;
  }
}

TEST(UsageTailProperty, FindsTheUsageOfAnyAnswerAndNothingOnceItsKeyIsCut) {
  for (uint32_t seed = 1; seed <= 3000; ++seed) {
    AnswerMaker maker(seed);
    ordered_json u = maker.usage();
    std::string text = maker.answer(u).dump(maker.pick(3) - 1);  // compact, or indented
    if (maker.pick(2) == 0) text = "data: " + ordered_json::parse(text).dump() + "\n\n";
    size_t mark = text.find("\"__mark__\"");
    size_t key = text.rfind("\"usage\"", mark);
    ASSERT_NE(key, std::string::npos) << text;

    expectUsage(usageFromTail(text), u, text);
    for (int cut = 0; cut < 4; ++cut) {
      size_t from = static_cast<size_t>(maker.pick(static_cast<int>(text.size())));
      std::string_view tail = std::string_view(text).substr(from);
      if (from <= key) {
        expectUsage(usageFromTail(tail), u, std::string(tail));
      } else if (text[from - 1] != '\\') {  // a cut inside an escape changes what the text says
        EXPECT_FALSE(usageFromTail(tail)) << tail;
      }
    }
    if (HasFailure()) FAIL() << "seed " << seed;
  }
}

}  // namespace
}  // namespace arkroute
