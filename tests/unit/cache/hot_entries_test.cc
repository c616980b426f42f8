// HotEntries: pinned inserts stay, read entries leave least recently used first, and lookups
// check the canonical text and expiry.
#include "cache/hot_entries.h"

#include <gtest/gtest.h>

namespace arkroute::cache {
namespace {

std::shared_ptr<const CacheEntry> entryOf(size_t body_bytes, int64_t expires_ms = 1000) {
  return std::make_shared<const CacheEntry>(
      CacheEntry{std::string(body_bytes, 'x'), "t", "m", 0, 0, expires_ms});
}

const Digest kA{1}, kB{2}, kC{3};
const std::string kText = "key";

TEST(HotEntries, PendingEntriesStayWhateverTheLimitUntilWritten) {
  HotEntries hot(100);
  auto a = entryOf(80), b = entryOf(80);
  hot.putPending(kA, kText, a);
  hot.putPending(kB, kText, b);
  EXPECT_EQ(hot.find(kA, &kText, 0), a);
  EXPECT_EQ(hot.find(kB, &kText, 0), b);
  EXPECT_EQ(hot.bytes(), 2 * (80 + kText.size()));
  hot.markWritten(kA, a.get());
  EXPECT_EQ(hot.find(kA, &kText, 0), nullptr) << "written and over the limit: dropped";
  EXPECT_EQ(hot.find(kB, &kText, 0), b);
}

TEST(HotEntries, TheLeastRecentlyUsedReadEntryLeavesFirst) {
  HotEntries hot(250);
  auto a = entryOf(97), b = entryOf(97), c = entryOf(97);
  hot.putRead(kA, kText, a, hot.removals());
  hot.putRead(kB, kText, b, hot.removals());
  ASSERT_EQ(hot.find(kA, &kText, 0), a);  // a is now more recent than b
  hot.putRead(kC, kText, c, hot.removals());
  EXPECT_EQ(hot.size(), 2u);
  EXPECT_EQ(hot.find(kB, &kText, 0), nullptr);
  EXPECT_EQ(hot.find(kA, &kText, 0), a);
  EXPECT_EQ(hot.find(kC, &kText, 0), c);
}

TEST(HotEntries, LookupsCheckTextAndExpiry) {
  HotEntries hot(1000);
  hot.putRead(kA, kText, entryOf(1, 500), hot.removals());
  const std::string other = "other";
  EXPECT_EQ(hot.find(kA, &other, 0), nullptr);
  EXPECT_NE(hot.find(kA, nullptr, 0), nullptr);
  EXPECT_EQ(hot.find(kA, &kText, 500), nullptr);
}

TEST(HotEntries, AReadNeverReplacesAPendingInsert) {
  HotEntries hot(1000);
  auto pending = entryOf(1), stale = entryOf(2);
  hot.putPending(kA, kText, pending);
  hot.putRead(kA, kText, stale, hot.removals());
  EXPECT_EQ(hot.find(kA, &kText, 0), pending);
  hot.eraseUnpinned(kA);
  EXPECT_EQ(hot.find(kA, &kText, 0), pending) << "pinned entries survive record removal";
  hot.markWritten(kA, stale.get());
  hot.eraseUnpinned(kA);
  EXPECT_EQ(hot.find(kA, &kText, 0), pending) << "only its own write unpins it";
  hot.markWritten(kA, pending.get());
  hot.eraseUnpinned(kA);
  EXPECT_EQ(hot.find(kA, &kText, 0), nullptr);
}

// A lookup reads removals() before it reads the record. A purge or eviction that removes that
// record meanwhile finds nothing in memory to remove yet: the read must not then put it there,
// where it would be served again after the purge.
TEST(HotEntries, AReadOverlappingARemovalIsNotKept) {
  HotEntries hot(1000);
  uint64_t before_read = hot.removals();
  hot.eraseUnpinned(kA);  // the purge: kA was not in memory
  hot.putRead(kA, kText, entryOf(1), before_read);
  EXPECT_EQ(hot.find(kA, &kText, 0), nullptr) << "the purged record came back";
  hot.putRead(kA, kText, entryOf(1), hot.removals());
  EXPECT_NE(hot.find(kA, &kText, 0), nullptr) << "a read after the removal is kept";
}

// Only a removal of the same record keeps a read out of memory: with a full cache evicting one
// entry per insert, reads overlapping other removals are still kept. Past kRemovalsKept removals
// during one read, the gateway cannot tell, and does not keep it.
TEST(HotEntries, OnlyARemovalOfTheSameRecordOrTooManyToTellKeepAReadOut) {
  HotEntries hot(1000);
  uint64_t before_read = hot.removals();
  hot.eraseUnpinned(kB);
  hot.eraseUnpinned(kC);
  hot.putRead(kA, kText, entryOf(1), before_read);
  EXPECT_NE(hot.find(kA, &kText, 0), nullptr) << "other records' removals do not matter";
  before_read = hot.removals();
  for (size_t i = 0; i <= HotEntries::kRemovalsKept; ++i) hot.eraseUnpinned(kC);
  hot.putRead(kB, kText, entryOf(1), before_read);
  EXPECT_EQ(hot.find(kB, &kText, 0), nullptr) << "too many removals to tell: not kept";
}

TEST(HotEntries, EraseIfSameLeavesANewerEntry) {
  HotEntries hot(1000);
  auto first = entryOf(1), second = entryOf(1);
  hot.putPending(kA, kText, first);
  hot.putPending(kA, kText, second);
  hot.eraseIfSame(kA, first.get());
  EXPECT_EQ(hot.find(kA, &kText, 0), second);
  hot.eraseIfSame(kA, second.get());
  EXPECT_EQ(hot.size(), 0u);
  EXPECT_EQ(hot.bytes(), 0u);
}

}  // namespace
}  // namespace arkroute::cache
