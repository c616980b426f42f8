// Flight bookkeeping for coalesced misses.
#include "cache/coalescer.h"

namespace arkroute::cache {

namespace {
constexpr size_t kWakeBatch = 64;  // callbacks per batch; batches run back to back
}

Coalescer::JoinResult Coalescer::join(const Digest& digest, WaiterCallback callback) {
  std::lock_guard lock(mutex_);
  auto it = flights_.find(digest);
  if (it == flights_.end()) {
    flights_.emplace(digest, std::vector<Waiter>());
    ++writers_;
    return std::unique_ptr<WritePermit>(new WritePermit(*this, digest));
  }
  Ticket ticket = next_ticket_++;
  it->second.push_back(Waiter{ticket, std::move(callback)});
  ++waiters_;
  return ticket;
}

bool Coalescer::cancelWait(const Digest& digest, Ticket ticket) {
  std::lock_guard lock(mutex_);
  auto it = flights_.find(digest);
  if (it == flights_.end()) return false;
  auto& waiters = it->second;
  for (auto w = waiters.begin(); w != waiters.end(); ++w) {
    if (w->ticket == ticket) {
      waiters.erase(w);
      return true;
    }
  }
  return false;
}

void Coalescer::settle(const Digest& digest, Outcome outcome,
                       std::shared_ptr<const CacheEntry> entry) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = flights_.find(digest);
    if (it == flights_.end()) return;
    waiters = std::move(it->second);
    flights_.erase(it);
  }
  if (outcome == Outcome::kDone) coalesced_ += waiters.size();
  for (size_t start = 0; start < waiters.size(); start += kWakeBatch) {
    size_t end = std::min(waiters.size(), start + kWakeBatch);
    for (size_t i = start; i < end; ++i) waiters[i].callback(Result{outcome, entry, nullptr});
  }
}

void Coalescer::handOver(const Digest& digest) {
  Waiter next;
  {
    std::lock_guard lock(mutex_);
    auto it = flights_.find(digest);
    if (it == flights_.end()) return;
    if (it->second.empty()) {
      flights_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.erase(it->second.begin());
    ++takeovers_;
  }
  next.callback(Result{Outcome::kFailed, nullptr,
                       std::unique_ptr<WritePermit>(new WritePermit(*this, digest))});
}

Coalescer::Stats Coalescer::stats() const {
  return Stats{writers_.load(), waiters_.load(), coalesced_.load(), takeovers_.load()};
}

Coalescer::WritePermit::~WritePermit() {
  if (!settled_) failed();
}

void Coalescer::WritePermit::done(std::shared_ptr<const CacheEntry> entry) {
  if (settled_) return;
  settled_ = true;
  owner_.settle(digest_, Outcome::kDone, std::move(entry));
}

void Coalescer::WritePermit::uncacheable() {
  if (settled_) return;
  settled_ = true;
  owner_.settle(digest_, Outcome::kUncacheable, nullptr);
}

void Coalescer::WritePermit::failed() {
  if (settled_) return;
  settled_ = true;
  owner_.handOver(digest_);
}

}  // namespace arkroute::cache
