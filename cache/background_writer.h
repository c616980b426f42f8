// The background writer of RocksCacheStore: one thread that performs accepted writes in arrival
// order, so no event loop ever waits on a RocksDB write or fsync. The queue is bounded in bytes
// (body + canonical text of every job not yet written); a job that would overflow it is refused
// and the caller counts it as dropped. flush() waits for every job accepted before it, not for
// the queue to empty, so it returns even under a steady stream of new inserts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "cache/cache_key.h"
#include "cache/cache_store.h"

namespace arkroute::cache {

class BackgroundWriter {
 public:
  struct Job {
    Digest digest;
    std::string canonical;
    std::shared_ptr<const CacheEntry> entry;
  };
  // Runs on the writer thread, one job at a time, never concurrently with itself.
  using WriteFunction = std::function<void(const Job&)>;

  // Starts the thread. write must stay callable until this object is destroyed.
  BackgroundWriter(uint64_t max_pending_bytes, WriteFunction write);
  // Writes every job already accepted, then stops the thread.
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  // Called from any thread; never blocks on a write. False when the job would take the pending
  // bytes over the bound: the job is not queued.
  bool enqueue(Job job);
  // Blocks until every job accepted before the call has been written.
  void flush();
  uint64_t pendingBytes() const;
  uint64_t maxPendingBytes() const { return max_pending_bytes_; }

  static uint64_t sizeOf(const Job& job) { return job.entry->body.size() + job.canonical.size(); }

 private:
  // The writer thread's nice value: above the event loops' 0, so under CPU contention the work
  // of answering clients goes first and storing takes the idle time.
  static constexpr int kNice = 10;
  void run();

  const uint64_t max_pending_bytes_;
  const WriteFunction write_;
  mutable std::mutex mutex_;
  std::condition_variable job_queued_;
  std::condition_variable job_written_;
  std::deque<Job> queue_;
  uint64_t pending_bytes_ = 0;
  uint64_t accepted_ = 0;  // jobs accepted so far; the n-th accepted job has sequence n
  uint64_t written_ = 0;   // jobs written so far (always in sequence order)
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above is initialised
};

}  // namespace arkroute::cache
