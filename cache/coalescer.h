// Request coalescing: concurrent identical misses (same Digest), from any thread, make one upstream
// call. The first to join gets a WritePermit (it fetches); later ones wait. Outcomes are named:
// kDone (every waiter gets the entry), kUncacheable (waiters fetch on their own), kFailed (one
// waiter is handed a new permit and takes over; the rest keep waiting). A waiter that gives up
// calls cancelWait (kWaitTimeout is the caller's decision). The permit is RAII: dropping it
// without an outcome counts as kFailed. Waiter callbacks run on the thread that settles the
// permit, outside the lock; callers re-post them to their own event loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>

#include "cache/cache_key.h"
#include "cache/cache_store.h"

namespace arkroute::cache {

class Coalescer {
 public:
  enum class Outcome { kDone, kUncacheable, kFailed };
  class WritePermit;
  struct Result {
    Outcome outcome;
    std::shared_ptr<const CacheEntry> entry;  // kDone
    std::unique_ptr<WritePermit> permit;      // kFailed, for the waiter that takes over
  };
  using Ticket = uint64_t;
  using WaiterCallback = std::function<void(Result)>;
  using JoinResult = std::variant<std::unique_ptr<WritePermit>, Ticket>;

  class WritePermit {
   public:
    ~WritePermit();
    void done(std::shared_ptr<const CacheEntry> entry);
    void uncacheable();
    void failed();

   private:
    friend class Coalescer;
    WritePermit(Coalescer& owner, const Digest& digest) : owner_(owner), digest_(digest) {}
    Coalescer& owner_;
    Digest digest_;
    bool settled_ = false;
  };

  struct Stats {
    uint64_t writers = 0, waiters_joined = 0, coalesced = 0, takeovers = 0;
  };

  JoinResult join(const Digest& digest, WaiterCallback callback);
  // Removes a waiter; false when it was already woken (its callback is on its way).
  bool cancelWait(const Digest& digest, Ticket ticket);
  Stats stats() const;

 private:
  struct Waiter {
    Ticket ticket;
    WaiterCallback callback;
  };
  void settle(const Digest& digest, Outcome outcome, std::shared_ptr<const CacheEntry> entry);
  void handOver(const Digest& digest);

  mutable std::mutex mutex_;
  std::map<Digest, std::vector<Waiter>> flights_;
  Ticket next_ticket_ = 1;
  std::atomic<uint64_t> writers_{0}, waiters_{0}, coalesced_{0}, takeovers_{0};
};

}  // namespace arkroute::cache
