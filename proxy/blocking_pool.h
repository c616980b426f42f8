// BlockingPool: threads for work that may wait on the database (cache reads that miss the
// in-memory hot set, ledger writes; in a pool of their own, purges and key changes), so no event
// loop does: a RocksDB write can wait behind a whole image's write. Jobs start in submission order;
// stop() runs every job already queued, then joins. Owned by the Gateway, which stops it after
// the workers' loops have ended and before the workers (whose LoopTasks the jobs post to) are
// destroyed. A job that throws (a bug) is reported on stderr, and the thread goes on with the next.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace arkroute {

class BlockingPool {
 public:
  // name: the threads' name prefix ("ark-blocking" gives ark-blocking-0, ark-blocking-1...).
  BlockingPool(size_t threads, std::string_view name);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Thread-safe. After stop(), the job runs on the caller's thread.
  void submit(std::function<void()> job);
  // Runs what is queued, then joins the threads. Idempotent.
  void stop();

 private:
  void run();
  void runJob(const std::function<void()>& job) const;  // what it throws goes to stderr

  std::string name_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// For a job whose result is the continuation of a request on its event loop: job()'s result or,
// should job throw (a bug), if_failed, after the exception was written to stderr, so the request
// waiting for the job hears back either way.
std::function<void()> continuationOf(const std::function<std::function<void()>()>& job,
                                     std::function<void()> if_failed);

}  // namespace arkroute
