// Headers: order, case-insensitive lookup, in-place value growth, removal, reuse after clear, and
// views that alias the list's own text.
#include "proxy/http/headers.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace arkroute::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs pairsOf(const Headers& headers) {
  Pairs out;
  for (const auto& [name, value] : headers) out.emplace_back(name, value);
  return out;
}

TEST(Headers, KeepsOrderAndDuplicatesAndFindsTheFirstIgnoringCase) {
  Headers h;
  h.add("Content-Type", "application/json");
  h.add("Set-Cookie", "a=1");
  h.add("set-cookie", "b=2");
  EXPECT_EQ(
      pairsOf(h),
      (Pairs{{"Content-Type", "application/json"}, {"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}}));
  EXPECT_EQ(h.get("SET-COOKIE"), "a=1");
  EXPECT_EQ(h.get("content-type"), "application/json");
  EXPECT_FALSE(h.find("content-typ").has_value());
  EXPECT_EQ(h.get("missing", "fallback"), "fallback");
  EXPECT_TRUE(h.has("Set-cookie"));
  EXPECT_EQ(h.size(), 3u);
}

TEST(Headers, EmptyValuesAreFoundAsEmptyNotMissing) {
  Headers h;
  h.add("X-Empty", "");
  ASSERT_TRUE(h.find("x-empty").has_value());
  EXPECT_EQ(*h.find("x-empty"), "");
}

TEST(Headers, ValuesGrowInPiecesEvenAfterLaterFields) {
  Headers h;
  h.add("A", "one");
  h.appendToLastValue(" two");
  h.add("B", "x");
  h.appendToLastValue("y");
  EXPECT_EQ(pairsOf(h), (Pairs{{"A", "one two"}, {"B", "xy"}}));
  h.remove("b");
  h.appendToLastValue(" three");  // "A" is last again, but its value is no longer at the end
  h.add("C", "z");
  EXPECT_EQ(pairsOf(h), (Pairs{{"A", "one two three"}, {"C", "z"}}));
}

TEST(Headers, SetReplacesEveryFieldOfThatName) {
  Headers h;
  h.add("Retry-After", "1");
  h.add("Other", "o");
  h.add("retry-after", "2");
  h.set("RETRY-AFTER", "3");
  EXPECT_EQ(pairsOf(h), (Pairs{{"Other", "o"}, {"RETRY-AFTER", "3"}}));
  h.remove("other");
  h.remove("nothing");
  EXPECT_EQ(pairsOf(h), (Pairs{{"RETRY-AFTER", "3"}}));
}

TEST(Headers, ViewsIntoTheListItselfCanBeAddedBack) {
  Headers h;
  h.add("Name", "value");
  for (int i = 0; i < 200; ++i) {  // enough growth to move the text more than once
    auto [name, value] = *h.begin();
    h.add(name, value);
    h.appendToLastValue(h.get("name"));
  }
  h.set(h.get("name"), (*h.begin()).first);
  EXPECT_EQ(h.size(), 202u);
  EXPECT_EQ(h.get("name"), "value");
  std::string doubled = "value";
  doubled += "value";
  EXPECT_EQ((*std::next(h.begin())).second, doubled);
  EXPECT_EQ(h.get("value"), "Name");
}

TEST(Headers, ClearEmptiesTheListForTheNextMessage) {
  Headers h;
  h.add("A", std::string(300, 'a'));
  h.clear();
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.begin(), h.end());
  h.add("B", "b");
  EXPECT_EQ(pairsOf(h), (Pairs{{"B", "b"}}));
}

TEST(Headers, CopiesAreIndependent) {
  Headers original;
  original.add("A", "1");
  Headers copy = original;
  copy.set("A", "2");
  copy.add("B", "3");
  EXPECT_EQ(pairsOf(original), (Pairs{{"A", "1"}}));
  EXPECT_EQ(pairsOf(copy), (Pairs{{"A", "2"}, {"B", "3"}}));
}

}  // namespace
}  // namespace arkroute::http

namespace arkroute::http {
namespace {

TEST(FieldNames, OnlyTokenCharactersMakeAName) {
  EXPECT_TRUE(isFieldNameText("Content-Type"));
  EXPECT_TRUE(isFieldNameText("X-Az09!#$%&'*+-.^_`|~"));
  EXPECT_TRUE(isFieldNameText(""));  // a name arrives in pieces; an empty piece adds nothing
  for (std::string_view bad :
       {"Transfer-Encoding ", "X Y", "X\tY", "X:Y", "X\"Y", "X(Y)", "X/Y", "X@Y", "X[Y]", "X{Y}",
        "X=Y", "X?Y", "X,Y", "X;Y", "X\\Y", "X\x7fY", "X\xc3\xa9Y"}) {
    EXPECT_FALSE(isFieldNameText(bad)) << bad;
  }
  EXPECT_FALSE(isFieldNameText(std::string_view("X\0Y", 3)));
}

}  // namespace
}  // namespace arkroute::http

namespace arkroute::http {
namespace {

TEST(BearerToken, AcceptsTheBearerSchemeOnly) {
  EXPECT_EQ(bearerToken("Bearer ark_1"), "ark_1");
  EXPECT_EQ(bearerToken("bearer  ark_1 "), "ark_1");
  EXPECT_EQ(bearerToken("BEARER \tark_1\t"), "ark_1");
  EXPECT_EQ(bearerToken("Basic abc"), "");
  EXPECT_EQ(bearerToken("Bearer "), "");
  EXPECT_EQ(bearerToken("Bearer \t "), "");
  EXPECT_EQ(bearerToken("Bearerark_1"), "");
  EXPECT_EQ(bearerToken(""), "");
}

// Fields and text share one block: past 16 fields or 512 bytes it is replaced by a larger one,
// and every field, its growing value included, moves with it.
TEST(Headers, ManyAndLongFieldsSurviveTheBlockGrowing) {
  Headers h;
  Pairs expected;
  for (int i = 0; i < 40; ++i) {
    std::string name = "X-Field-" + std::to_string(i);
    std::string value(static_cast<size_t>(i * 7), static_cast<char>('a' + i % 26));
    h.add(name, value);
    expected.emplace_back(name, value);
    if (i % 5 == 0) {  // a value read in pieces: an append may need a larger block too
      h.appendToLastValue("+");
      expected.back().second += "+";
    }
  }
  EXPECT_EQ(pairsOf(h), expected);
  EXPECT_EQ(h.get("x-field-39"), std::string(273, 'a' + 39 % 26));
  Headers copy = h;
  h.remove("X-Field-0");
  h.set("x-field-1", std::string(2000, 'z'));
  EXPECT_EQ(h.size(), 39u);
  EXPECT_EQ(h.get("X-FIELD-1"), std::string(2000, 'z'));
  EXPECT_EQ(pairsOf(copy), expected);
}

}  // namespace
}  // namespace arkroute::http

namespace arkroute::http {
namespace {

// A moved-from list is an empty list that takes fields again (its text went with the move).
TEST(Headers, AMovedFromListIsEmptyAndUsable) {
  Headers first;
  first.add("Content-Type", "application/json");
  Headers second = std::move(first);
  EXPECT_EQ(second.get("content-type"), "application/json");
  first.add("X-Again", std::string(600, 'a'));  // NOLINT(bugprone-use-after-move): on purpose
  first.appendToLastValue("b");
  EXPECT_EQ(first.size(), 1u);
  EXPECT_EQ(first.get("x-again"), std::string(600, 'a') + "b");
  Headers third;
  third.add("X-Third", "3");
  third = std::move(second);
  second.add("X-Fourth", "4");  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(second.size(), 1u);
  EXPECT_EQ(second.get("x-fourth"), "4");
  EXPECT_EQ(third.get("content-type"), "application/json");
  EXPECT_FALSE(third.has("x-third"));
}

TEST(Headers, ContainsIgnoreCaseFindsAWordInAnyCase) {
  EXPECT_TRUE(containsIgnoreCase("Text/Event-Stream; charset=utf-8", "text/event-stream"));
  EXPECT_TRUE(containsIgnoreCase("application/JSON", "json"));
  EXPECT_TRUE(containsIgnoreCase("json", "json"));
  EXPECT_FALSE(containsIgnoreCase("application/jso", "json"));
  EXPECT_FALSE(containsIgnoreCase("", "json"));
}

}  // namespace
}  // namespace arkroute::http
