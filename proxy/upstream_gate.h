// Per-upstream state shared by every worker: health (consecutive failures, ejection for a
// cooldown, one probe afterwards), load (requests in flight, for least-loaded choice) and shaping
// (max_concurrency and rpm with a bounded FIFO queue, and a pause when the provider answers 429).
// A request asks for a slot with acquire(); when one is free it is granted at once, otherwise it
// waits in the queue and a pump thread grants it in order — on the waiter's own loop, through
// LoopTasks — or it is refused (queue full) or gives up (queue_timeout, cancel()). Every granted
// slot is given back with release(). Thread-safe. An upstream without max_concurrency or rpm, not
// paused and with nobody queued is "unshaped": its slots are counted per thread (thread_shard.h),
// without the lock, so workers do not contend on every request.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "conf/config.h"
#include "proxy/loop_tasks.h"
#include "proxy/start_window.h"
#include "proxy/thread_shard.h"

namespace arkroute {

struct GateLimits {
  int max_concurrency = 0;  // 0 = no limit
  int rpm = 0;              // 0 = no limit
  int max_queue = 256;
  int eject_after = 5;  // 0 = never
  int64_t eject_for_ms = 30'000;
  int weight = 1;
  static GateLimits from(const UpstreamConfig& upstream);
};

class UpstreamGate {
 public:
  enum class Admission { kGranted, kQueued, kQueueFull };
  using Grant = std::function<void()>;  // runs on the waiter's loop

  UpstreamGate(GateLimits limits, std::function<int64_t()> now_ms);

  // True: the caller holds a slot now (one was free and nobody waits). False: nothing held; call
  // acquire() to wait in the queue. The common case of an unshaped upstream, without building a
  // Grant or reading the clock.
  bool tryAcquire();
  // Granted: the caller holds a slot now. Queued: `grant` will be posted to `tasks` when it is
  // the caller's turn (*ticket identifies the wait for cancel()). QueueFull: nothing held.
  Admission acquire(LoopTasks* tasks, Grant grant, uint64_t* ticket);
  // Removes a queued wait; false when it was already granted (the grant is on its way).
  bool cancel(uint64_t ticket);
  void release();

  // Health.
  void recordSuccess();
  void recordFailure();
  // The provider said 429: grant nothing new for `pause_ms`.
  void pauseFor(int64_t pause_ms);
  bool available(int64_t now_ms);  // not ejected (or due for its probe)
  double load() const;             // (in flight + queued) / weight
  int inFlight() const;
  int queued() const;
  // True when requests wait in the queue: new limits may let them in, so wake the pump.
  bool setLimits(GateLimits limits);

  // Grants queued waiters whose turn has come; returns when the next time-based grant is possible
  // (0: nothing waiting on time). Called by the pump.
  int64_t pump();

 private:
  struct Waiter {
    uint64_t ticket;
    LoopTasks* tasks;
    Grant grant;
  };
  bool canGrantLocked(int64_t now_ms);
  // The clock when a grant depends on time (an rpm limit or a 429 pause), else 0.
  int64_t grantTimeLocked();
  void takeSlotLocked(int64_t now_ms);
  // Sets unshaped_ from the limits, the pause and the queue; after every change to one of them.
  void updateUnshapedLocked();
  int inFlightNow() const;  // the cells' sum

  GateLimits limits_;
  std::function<int64_t()> now_ms_;
  mutable std::mutex mutex_;
  std::deque<Waiter> queue_;
  uint64_t next_ticket_ = 1;
  // Slots held, counted in the cell of the thread that took or gave back each one (a slot may be
  // taken on one thread and given back on another: only the sum means anything).
  ShardedTotal<int64_t> in_flight_;
  // Read without the lock by tryAcquire() and release(), written under it (updateUnshapedLocked).
  std::atomic<bool> unshaped_{false};
  std::optional<StartWindow> rpm_;
  int64_t paused_until_ = 0;
  int consecutive_failures_ = 0;
  int64_t ejected_until_ = 0;
  bool probing_ = false;
  int64_t probe_given_up_at_ = 0;  // a probe that has not reported by then no longer blocks one
  // False while failures, an ejection or a probe are recorded: recordSuccess() only takes the lock
  // then. Read without the lock on every success, written under it.
  std::atomic<bool> healthy_{true};
  std::function<void()> wake_pump_;
  friend class UpstreamGates;
};

// Every upstream's gate, by name, and the pump thread that serves their queues.
class UpstreamGates {
 public:
  explicit UpstreamGates(std::function<int64_t()> now_ms);
  ~UpstreamGates();
  // Creates or updates the gates for these upstreams (at start and on reload).
  void configure(const std::vector<UpstreamConfig>& upstreams);
  UpstreamGate& gate(const std::string& name);
  // Among candidates (upstream names with weights), the available one with the least load;
  // when all are ejected, the first.
  size_t choose(const std::vector<std::string>& names);

 private:
  void pumpLoop();
  void wake();

  std::function<int64_t()> now_ms_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<UpstreamGate>, std::less<>> gates_;
  std::condition_variable wake_;
  bool wake_requested_ = false;
  bool stopping_ = false;
  std::thread pump_;
};

}  // namespace arkroute
