// json_text: strings escaped in runs give exactly what a byte-by-byte escaper gives, for any
// bytes at any position; objects are written in order; a member joins a dumped object.
#include "proxy/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace arkroute::json_text {
namespace {

// The plain reference: one byte at a time.
std::string escapedByteByByte(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string escaped(std::string_view text) {
  std::string out;
  appendString(text, out);
  return out;
}

TEST(JsonText, EveryByteValueAtEveryPositionOfAWordIsEscapedAsByteByByte) {
  for (int byte = 0; byte < 256; ++byte) {
    for (size_t at = 0; at < 19; ++at) {
      std::string text(19, 'A');
      text[at] = static_cast<char>(byte);
      ASSERT_EQ(escaped(text), escapedByteByByte(text)) << "byte " << byte << " at " << at;
    }
  }
}

TEST(JsonText, RandomStringsMatchTheByteByByteEscaper) {
  std::mt19937 random(7);
  const std::string alphabet = std::string("ABCxyz019+/=\"\\\n\t\x01\x1f\x7f", 20) + "\xc3\xa9\xff";
  for (int round = 0; round < 2000; ++round) {
    std::string text(random() % 70, ' ');
    for (char& c : text) c = alphabet[random() % alphabet.size()];
    ASSERT_EQ(escaped(text), escapedByteByByte(text)) << round;
  }
}

TEST(JsonText, WhatItWritesParsesBackToTheSameText) {
  std::string text = "line\nbreak \"quoted\" back\\slash \x01 caf\xc3\xa9 " + std::string(100, '+');
  std::string out;
  ObjectWriter(out).string("k\"ey", text).number("n", -42).raw("usage", R"({"a":[1,2]})").close();
  nlohmann::json parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed["k\"ey"], text);
  EXPECT_EQ(parsed["n"], -42);
  EXPECT_EQ(parsed["usage"]["a"][1], 2);
  EXPECT_EQ(out.rfind("{\"k\\\"ey\":", 0), 0u) << "members in the order written";
}

TEST(JsonText, AMemberJoinsADumpedObjectLast) {
  std::string object = R"({"model":"m"})";
  addRawMember(object, "image", "\"QUJD\"");
  EXPECT_EQ(object, R"({"model":"m","image":"QUJD"})");
  std::string empty = "{}";
  addRawMember(empty, "image", "[\"a\",\"b\"]");
  EXPECT_EQ(empty, R"({"image":["a","b"]})");
  std::string task = R"({"model":"m"})";
  addStringMember(task, "image", "QU\"JD");
  EXPECT_EQ(task, R"({"model":"m","image":"QU\"JD"})");
  std::string bare = "{}";
  addStringMember(bare, "image", "x");
  EXPECT_EQ(bare, R"({"image":"x"})");
}

nlohmann::json randomValue(std::mt19937& random, int depth) {
  static const std::vector<std::string> kTexts = {"",
                                                  "plain",
                                                  "caf\xc3\xa9",
                                                  "tab\tand\nline",
                                                  "quote\" back\\",
                                                  "\x01\x1f",
                                                  "bad \xff\xfe utf-8",
                                                  std::string(3000, 'Q')};
  switch (depth > 3 ? random() % 5 : random() % 7) {
    case 0:
      return nullptr;
    case 1:
      return random() % 2 == 0;
    case 2:
      return static_cast<int64_t>(random()) - (1LL << 31);
    case 3:
      return static_cast<double>(random()) / 7.0;
    case 4:
      return kTexts[random() % kTexts.size()];
    case 5: {
      nlohmann::json array = nlohmann::json::array();
      for (uint32_t i = random() % 4; i > 0; --i) array.push_back(randomValue(random, depth + 1));
      return array;
    }
    default: {
      nlohmann::json object = nlohmann::json::object();
      for (uint32_t i = random() % 4; i > 0; --i) {
        object[kTexts[random() % kTexts.size()] + std::to_string(i)] =
            randomValue(random, depth + 1);
      }
      return object;
    }
  }
}

TEST(JsonText, DumpSaysWhatNlohmannsDumpWithReplaceSays) {
  std::mt19937 random(3);
  for (int round = 0; round < 3000; ++round) {
    nlohmann::json value = randomValue(random, 0);
    std::string theirs = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string ours = dump(value);
    ASSERT_EQ(nlohmann::json::parse(ours), nlohmann::json::parse(theirs)) << ours;
    if (theirs.find('\\') == std::string::npos) {
      EXPECT_EQ(ours, theirs) << "same text where nothing is escaped";
    }
  }
}

// Only integers no 64-bit integer holds are widened; strings, fractions and exponents are not.
TEST(JsonText, IntegersBeyondSixtyFourBitsAreWidenedAndNothingElse) {
  EXPECT_EQ(widenBigIntegers(R"({"a":100000000000000000000,"b":[-9223372036854775809]})"),
            R"({"a":100000000000000000000.0,"b":[-9223372036854775809.0]})");
  EXPECT_EQ(widenBigIntegers(R"({"a":18446744073709551616 , "b":1})"),
            R"({"a":18446744073709551616.0 , "b":1})");
  EXPECT_FALSE(widenBigIntegers(R"({"a":18446744073709551615,"b":-9223372036854775808})"));
  EXPECT_FALSE(widenBigIntegers(R"({"a":1e400,"b":100000000000000000000.5,"c":1E30})"));
  EXPECT_FALSE(
      widenBigIntegers(R"({"s":"100000000000000000000","t":"\"99999999999999999999999"})"));
  EXPECT_FALSE(widenBigIntegers(R"({"a":1,"b":-2,"c":[0]})"));
}

}  // namespace
}  // namespace arkroute::json_text
