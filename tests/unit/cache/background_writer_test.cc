// BackgroundWriter: order, flush, its CPU priority, the byte bound, and draining on destruction.
#include "cache/background_writer.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <vector>

namespace arkroute::cache {
namespace {

BackgroundWriter::Job jobOf(uint8_t id, size_t body_bytes = 10) {
  auto entry = std::make_shared<const CacheEntry>(CacheEntry{std::string(body_bytes, 'x')});
  return BackgroundWriter::Job{Digest{id}, "", entry};
}

TEST(BackgroundWriter, WritesEveryJobInArrivalOrderBeforeFlushReturns) {
  std::mutex mutex;
  std::vector<uint8_t> written;
  BackgroundWriter writer(1 << 20, [&](const BackgroundWriter::Job& job) {
    std::lock_guard lock(mutex);
    written.push_back(job.digest[0]);
  });
  for (uint8_t id = 0; id < 100; ++id) ASSERT_TRUE(writer.enqueue(jobOf(id)));
  writer.flush();
  std::lock_guard lock(mutex);
  ASSERT_EQ(written.size(), 100u);
  for (uint8_t id = 0; id < 100; ++id) EXPECT_EQ(written[id], id);
  EXPECT_EQ(writer.pendingBytes(), 0u);
}

int niceOfThisThread() {
  return getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
}

TEST(BackgroundWriter, WritesAtALowerCpuPriorityThanTheCaller) {
  std::atomic<int> writer_nice{-100};
  BackgroundWriter writer(1 << 20,
                          [&](const BackgroundWriter::Job&) { writer_nice = niceOfThisThread(); });
  ASSERT_TRUE(writer.enqueue(jobOf(1)));
  writer.flush();
  EXPECT_EQ(writer_nice.load(), std::max(10, niceOfThisThread()));
}

TEST(BackgroundWriter, RefusesJobsOverTheByteBoundUntilWritesLand) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  BackgroundWriter writer(100, [released](const BackgroundWriter::Job&) { released.wait(); });
  EXPECT_TRUE(writer.enqueue(jobOf(1, 60)));
  EXPECT_FALSE(writer.enqueue(jobOf(2, 60))) << "60 + 60 pending bytes > 100";
  EXPECT_TRUE(writer.enqueue(jobOf(3, 40)));
  EXPECT_EQ(writer.pendingBytes(), 100u);
  release.set_value();
  writer.flush();
  EXPECT_EQ(writer.pendingBytes(), 0u);
  EXPECT_TRUE(writer.enqueue(jobOf(4, 60)));
}

TEST(BackgroundWriter, DestructionWritesEverythingAccepted) {
  std::atomic<int> written{0};
  {
    BackgroundWriter writer(1 << 20, [&](const BackgroundWriter::Job&) { ++written; });
    for (uint8_t id = 0; id < 50; ++id) writer.enqueue(jobOf(id));
  }
  EXPECT_EQ(written, 50);
}

}  // namespace
}  // namespace arkroute::cache
