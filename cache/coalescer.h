// Request coalescing: concurrent identical misses (same Digest), from any thread, make one
// upstream call. The first to join gets a WritePermit (it fetches); later ones are queued with a
// callback. Outcomes are named: kDone (every waiter gets the entry), kUncacheable (waiters fetch on
// their own and store nothing), kRefused (the call ended in an error answer, e.g. the provider's
// refusal or a timeout: every waiter gets the same answer, none repeats the call), kFailed
// (exactly one waiter is handed a new permit and takes over; the rest keep waiting).
// kWaitTimeout is the caller's own decision: it calls cancelWait and, when that returns true,
// fetches without storing; it is never delivered to a callback. The permit is RAII: dropping it
// without an outcome is kFailed.
//
// Callbacks run on the thread that settles the permit, outside any lock, exactly once per waiter
// that was not cancelled; callers re-post them to their own event loop. Waiters are woken in
// batches of at most wake_batch (default 64): the settling thread takes one batch from the flight
// under the lock, runs its callbacks without it, and repeats until the flight is empty, so
// cancelWait and join are never held up for more than one batch, and a waiter cancelled before
// its batch is taken is never called. A callback that drops its takeover permit hands the job to
// the next waiter after it returns (iteratively, so a long chain cannot exhaust the stack).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "cache/cache_key.h"
#include "cache/cache_store.h"

namespace arkroute::cache {

class Coalescer {
 public:
  enum class Outcome { kDone, kUncacheable, kRefused, kFailed, kWaitTimeout };
  class WritePermit;
  // The error answer a call ended in, as its client got it: every waiter answers the same.
  struct ErrorAnswer {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // retry-after, x-ratelimit-*, ...
    std::string body;
  };
  struct Result {
    Outcome outcome = Outcome::kFailed;
    std::shared_ptr<const CacheEntry> entry;   // kDone: the writer's entry, shared by every waiter
    bool stored = false;                       // kDone: the store kept entry (its URLs resolve)
    std::unique_ptr<WritePermit> permit;       // kFailed: this waiter is now the writer
    std::shared_ptr<const ErrorAnswer> error;  // kRefused: the answer every waiter gives
  };
  using Ticket = uint64_t;
  using WaiterCallback = std::function<void(Result)>;
  using JoinResult = std::variant<std::unique_ptr<WritePermit>, Ticket>;

  // The right (and duty) to fetch one digest and report how it went. Must not outlive its
  // Coalescer. Settle it from any thread; the first outcome counts, later calls do nothing.
  class WritePermit {
   public:
    ~WritePermit();  // without an outcome: failed()
    WritePermit(const WritePermit&) = delete;
    WritePermit& operator=(const WritePermit&) = delete;
    // The response is complete: every waiter is served entry. stored: the cache kept it (false
    // when it refused it, e.g. too large), so waiters that want URLs to it cannot have them.
    void done(std::shared_ptr<const CacheEntry> entry, bool stored = true);
    // The response cannot be cached (no-store, too large, ...): waiters fetch on their own.
    void uncacheable();
    // The call ended in an error answer that a repeat would meet too: every waiter gives it.
    void refused(std::shared_ptr<const ErrorAnswer> answer);
    // The fetch failed: one waiter takes over with a new permit.
    void failed();
    const Digest& digest() const { return digest_; }

   private:
    friend class Coalescer;
    WritePermit(Coalescer& owner, const Digest& digest) : owner_(owner), digest_(digest) {}
    Coalescer& owner_;
    Digest digest_;
    bool settled_ = false;
  };

  struct Stats {
    uint64_t writers = 0;         // permits handed out by join (first misses)
    uint64_t waiters_joined = 0;  // joins that were queued
    uint64_t coalesced = 0;       // waiters served kDone
    uint64_t takeovers = 0;       // permits handed to a waiter after kFailed
    uint64_t refused = 0;         // waiters given the writer's error answer (kRefused)
  };

  static constexpr size_t kDefaultWakeBatch = 64;
  explicit Coalescer(size_t wake_batch = kDefaultWakeBatch) : wake_batch_(wake_batch) {}

  // Called after a cache miss, from any thread. Returns a permit when no fetch of digest is in
  // flight, else a ticket: callback will be called once with the outcome (possibly on another
  // thread before join returns) unless cancelWait(digest, ticket) returns true first.
  JoinResult join(const Digest& digest, WaiterCallback callback);
  // Called when a waiter gives up (timeout, client gone). True: removed, its callback will never
  // be called. False: it was already taken for waking (its callback has run or is running).
  bool cancelWait(const Digest& digest, Ticket ticket);
  Stats stats() const;

 private:
  struct Waiter {
    Ticket ticket = 0;
    WaiterCallback callback;
  };
  struct Flight {
    std::deque<Waiter> waiters;
  };
  // Wakes every waiter with a copy of outcome (which has no permit).
  void settle(const Digest& digest, const Result& outcome);
  void handOver(const Digest& digest);
  void handOverToNextWaiter(const Digest& digest);

  const size_t wake_batch_;
  mutable std::mutex mutex_;
  std::unordered_map<Digest, Flight, DigestHash> flights_;
  Ticket next_ticket_ = 1;
  std::atomic<uint64_t> writers_{0}, waiters_joined_{0}, coalesced_{0}, takeovers_{0}, refused_{0};
};

// "done", "uncacheable", "refused", "failed", "wait_timeout": for logs and metrics labels.
std::string_view toString(Coalescer::Outcome outcome);

}  // namespace arkroute::cache
