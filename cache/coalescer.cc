// Coalescer: flights of waiters per digest, batched waking, shared refusals, takeover on failure.
#include "cache/coalescer.h"

#include <algorithm>
#include <iterator>
#include <vector>

namespace arkroute::cache {

std::string_view toString(Coalescer::Outcome outcome) {
  switch (outcome) {
    case Coalescer::Outcome::kDone:
      return "done";
    case Coalescer::Outcome::kUncacheable:
      return "uncacheable";
    case Coalescer::Outcome::kRefused:
      return "refused";
    case Coalescer::Outcome::kFailed:
      return "failed";
    case Coalescer::Outcome::kWaitTimeout:
      return "wait_timeout";
  }
  return "unknown";
}

Coalescer::JoinResult Coalescer::join(const Digest& digest, WaiterCallback callback) {
  std::lock_guard lock(mutex_);
  auto [it, created] = flights_.try_emplace(digest);
  if (created) {
    ++writers_;
    return std::unique_ptr<WritePermit>(new WritePermit(*this, digest));
  }
  Ticket ticket = next_ticket_++;
  it->second.waiters.push_back(Waiter{ticket, std::move(callback)});
  ++waiters_joined_;
  return ticket;
}

bool Coalescer::cancelWait(const Digest& digest, Ticket ticket) {
  std::lock_guard lock(mutex_);
  auto it = flights_.find(digest);
  if (it == flights_.end()) return false;
  auto& waiters = it->second.waiters;
  for (auto waiter = waiters.begin(); waiter != waiters.end(); ++waiter) {
    if (waiter->ticket == ticket) {
      waiters.erase(waiter);
      return true;
    }
  }
  return false;
}

// Wakes every waiter with outcome, one batch at a time; the flight ends with the last batch.
void Coalescer::settle(const Digest& digest, const Result& outcome) {
  bool last_batch = false;
  while (!last_batch) {
    std::vector<Waiter> batch;
    {
      std::lock_guard lock(mutex_);
      auto it = flights_.find(digest);
      if (it == flights_.end()) return;
      auto& waiters = it->second.waiters;
      size_t count = std::min(waiters.size(), wake_batch_);
      std::move(waiters.begin(), waiters.begin() + static_cast<std::ptrdiff_t>(count),
                std::back_inserter(batch));
      waiters.erase(waiters.begin(), waiters.begin() + static_cast<std::ptrdiff_t>(count));
      last_batch = waiters.empty();
      if (last_batch) flights_.erase(it);
    }
    if (outcome.outcome == Outcome::kDone) coalesced_ += batch.size();
    if (outcome.outcome == Outcome::kRefused) refused_ += batch.size();
    for (Waiter& waiter : batch) {
      if (waiter.callback) {
        waiter.callback(
            Result{outcome.outcome, outcome.entry, outcome.stored, nullptr, outcome.error});
      }
    }
  }
}

// A takeover callback may drop its permit, which hands over again from inside the callback. The
// outermost call on this thread runs those hand-overs one after another instead of nesting them.
void Coalescer::handOver(const Digest& digest) {
  thread_local std::vector<std::pair<Coalescer*, Digest>>* pending = nullptr;
  if (pending) {
    pending->emplace_back(this, digest);
    return;
  }
  std::vector<std::pair<Coalescer*, Digest>> queue{{this, digest}};
  pending = &queue;
  for (size_t i = 0; i < queue.size(); ++i) {
    auto [owner, next_digest] = queue[i];
    owner->handOverToNextWaiter(next_digest);
  }
  pending = nullptr;
}

void Coalescer::handOverToNextWaiter(const Digest& digest) {
  Waiter next;
  {
    std::lock_guard lock(mutex_);
    auto it = flights_.find(digest);
    if (it == flights_.end()) return;
    auto& waiters = it->second.waiters;
    if (waiters.empty()) {
      flights_.erase(it);
      return;
    }
    next = std::move(waiters.front());
    waiters.pop_front();
    ++takeovers_;
  }
  Result result{Outcome::kFailed, nullptr, false,
                std::unique_ptr<WritePermit>(new WritePermit(*this, digest)), nullptr};
  if (next.callback) next.callback(std::move(result));
}

Coalescer::Stats Coalescer::stats() const {
  return Stats{writers_.load(), waiters_joined_.load(), coalesced_.load(), takeovers_.load(),
               refused_.load()};
}

Coalescer::WritePermit::~WritePermit() {
  failed();
}

void Coalescer::WritePermit::done(std::shared_ptr<const CacheEntry> entry, bool stored) {
  if (settled_) return;
  settled_ = true;
  owner_.settle(digest_, Result{Outcome::kDone, std::move(entry), stored, nullptr, nullptr});
}

void Coalescer::WritePermit::uncacheable() {
  if (settled_) return;
  settled_ = true;
  owner_.settle(digest_, Result{Outcome::kUncacheable});
}

void Coalescer::WritePermit::refused(std::shared_ptr<const ErrorAnswer> answer) {
  if (settled_) return;
  settled_ = true;
  owner_.settle(digest_, Result{Outcome::kRefused, nullptr, false, nullptr, std::move(answer)});
}

void Coalescer::WritePermit::failed() {
  if (settled_) return;
  settled_ = true;
  owner_.handOver(digest_);
}

}  // namespace arkroute::cache
