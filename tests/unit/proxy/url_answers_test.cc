// UrlAnswers: url answers built once per entry, rebuilt when the public URL changes, never served
// for an entry that is gone, and bounded.
#include "proxy/url_answers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace arkroute {
namespace {

std::shared_ptr<const cache::CacheEntry> entry(const std::string& b64) {
  return std::make_shared<const cache::CacheEntry>(cache::CacheEntry{
      R"({"created":1,"data":[{"b64_json":")" + b64 + R"("}]})", "application/json", "m"});
}

TEST(UrlAnswers, BuildsOncePerEntryAndRebuildsForAnotherPublicUrl) {
  UrlAnswers answers;
  auto stored = entry("iVBORw0KGgo=");
  auto first = answers.get(stored, "http://gw", "abc");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(nlohmann::json::parse(*first)["data"][0]["url"], "http://gw/v1/images/cache/abc-0");
  EXPECT_EQ(answers.get(stored, "http://gw", "abc"), first) << "the same text, not rebuilt";
  auto moved = answers.get(stored, "https://new.example", "abc");
  EXPECT_NE(moved, first);
  EXPECT_EQ(nlohmann::json::parse(*moved)["data"][0]["url"],
            "https://new.example/v1/images/cache/abc-0");
}

TEST(UrlAnswers, AGoneEntryIsNeverAnsweredFromMemory) {
  UrlAnswers answers;
  auto stored = entry("iVBORw0KGgo=");
  const cache::CacheEntry* address = stored.get();
  auto old_answer = answers.get(stored, "http://gw", "same-id");
  stored.reset();
  // A new entry may reuse the freed address: allocate until it does (or give up; both must pass).
  std::vector<std::shared_ptr<const cache::CacheEntry>> fresh;
  for (int i = 0; i < 64 && (fresh.empty() || fresh.back().get() != address); ++i) {
    fresh.push_back(entry("/9j/4A=="));
  }
  auto answer = answers.get(fresh.back(), "http://gw", "same-id");
  ASSERT_NE(answer, nullptr);
  EXPECT_NE(answer, old_answer);
  EXPECT_EQ(*answer, *old_answer) << "same shape: ids and URL match, so the texts are equal";
}

TEST(UrlAnswers, StaysWithinItsCapacityAndRefusesWhatIsNotAnImagesAnswer) {
  UrlAnswers answers(3);
  std::vector<std::shared_ptr<const cache::CacheEntry>> entries;
  for (int i = 0; i < 10; ++i) {
    entries.push_back(entry("iVBORw0KGgo="));
    ASSERT_NE(answers.get(entries.back(), "http://gw", std::to_string(i)), nullptr);
  }
  EXPECT_EQ(answers.size(), 3u);
  auto not_images = std::make_shared<const cache::CacheEntry>(
      cache::CacheEntry{R"({"error":{"message":"no"}})", "application/json", "m"});
  EXPECT_EQ(answers.get(not_images, "http://gw", "x"), nullptr);
}

}  // namespace
}  // namespace arkroute
