// Upstream health, load and shaping.
#include "proxy/upstream_gate.h"

#include <algorithm>

#include "proxy/thread_name.h"

namespace arkroute {

GateLimits GateLimits::from(const UpstreamConfig& upstream) {
  GateLimits limits;
  limits.max_concurrency = upstream.max_concurrency;
  limits.rpm = upstream.rpm;
  limits.max_queue = upstream.max_queue;
  limits.eject_after = upstream.eject_after;
  limits.eject_for_ms = upstream.eject_for.count();
  limits.weight = std::max(1, upstream.weight);
  return limits;
}

UpstreamGate::UpstreamGate(GateLimits limits, std::function<int64_t()> now_ms)
    : now_ms_(std::move(now_ms)) {
  setLimits(limits);
}

bool UpstreamGate::setLimits(GateLimits limits) {
  std::lock_guard lock(mutex_);
  if (limits.rpm <= 0) {
    rpm_.reset();
  } else if (!rpm_) {
    rpm_.emplace(limits.rpm);
  } else {
    rpm_->setRate(limits.rpm);
  }
  limits_ = limits;
  updateUnshapedLocked();
  return !queue_.empty();
}

void UpstreamGate::updateUnshapedLocked() {
  bool unshaped = limits_.max_concurrency <= 0 && !rpm_ && paused_until_ == 0 && queue_.empty();
  unshaped_.store(unshaped, std::memory_order_release);
}

int UpstreamGate::inFlightNow() const {
  return static_cast<int>(std::max<int64_t>(in_flight_.total(), 0));
}

bool UpstreamGate::canGrantLocked(int64_t now_ms) {
  if (now_ms < paused_until_) return false;
  if (limits_.max_concurrency > 0 && inFlightNow() >= limits_.max_concurrency) return false;
  return !rpm_ || rpm_->msUntilNext(now_ms) == 0;
}

void UpstreamGate::takeSlotLocked(int64_t now_ms) {
  in_flight_.add(1);
  if (rpm_) rpm_->take(now_ms);
}

int64_t UpstreamGate::grantTimeLocked() {
  if (paused_until_ == 0 && !rpm_) return 0;
  int64_t now = now_ms_();
  if (paused_until_ != 0 && paused_until_ <= now) {
    paused_until_ = 0;  // the pause is over: no clock needed next time
    updateUnshapedLocked();
  }
  return now;
}

bool UpstreamGate::tryAcquire() {
  if (unshaped_.load(std::memory_order_acquire)) {
    in_flight_.add(1);
    return true;
  }
  std::lock_guard lock(mutex_);
  if (!queue_.empty()) return false;
  int64_t now = grantTimeLocked();
  if (!canGrantLocked(now)) return false;
  takeSlotLocked(now);
  return true;
}

UpstreamGate::Admission UpstreamGate::acquire(LoopTasks* tasks, Grant grant, uint64_t* ticket) {
  {
    std::lock_guard lock(mutex_);
    int64_t now = now_ms_();
    if (queue_.empty() && canGrantLocked(now)) {
      takeSlotLocked(now);
      return Admission::kGranted;
    }
    if (static_cast<int>(queue_.size()) >= limits_.max_queue) return Admission::kQueueFull;
    *ticket = next_ticket_++;
    queue_.push_back(Waiter{*ticket, tasks, std::move(grant)});
    updateUnshapedLocked();
  }
  if (wake_pump_) wake_pump_();  // outside our lock: the pump's lock is taken first elsewhere
  return Admission::kQueued;
}

bool UpstreamGate::cancel(uint64_t ticket) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [ticket](const Waiter& w) { return w.ticket == ticket; });
  if (it == queue_.end()) return false;
  queue_.erase(it);
  updateUnshapedLocked();
  return true;
}

void UpstreamGate::release() {
  in_flight_.add(-1);
  if (unshaped_.load(std::memory_order_acquire)) return;  // nobody waits for the slot
  bool waiting;
  {
    std::lock_guard lock(mutex_);
    waiting = !queue_.empty();
  }
  // The pump is a thread: waking it costs two context switches, so only when someone waits.
  if (waiting && wake_pump_) wake_pump_();
}

int64_t UpstreamGate::pump() {
  std::vector<Waiter> granted;
  int64_t next = 0;
  {
    std::lock_guard lock(mutex_);
    int64_t now = now_ms_();
    while (!queue_.empty() && canGrantLocked(now)) {
      takeSlotLocked(now);
      granted.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    updateUnshapedLocked();
    if (!queue_.empty()) {
      bool concurrency_bound =
          limits_.max_concurrency > 0 && inFlightNow() >= limits_.max_concurrency;
      if (!concurrency_bound) {  // waiting on time: the pause or the rpm bucket
        int64_t wait = std::max<int64_t>(paused_until_ - now, 0);
        if (rpm_) wait = std::max(wait, rpm_->msUntilNext(now));
        next = now + std::max<int64_t>(wait, 1);
      }
    }
  }
  for (Waiter& waiter : granted) waiter.tasks->post(std::move(waiter.grant));
  return next;
}

void UpstreamGate::recordSuccess() {
  if (healthy_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  consecutive_failures_ = 0;
  ejected_until_ = 0;
  probing_ = false;
  healthy_.store(true, std::memory_order_release);
}

void UpstreamGate::recordFailure() {
  std::lock_guard lock(mutex_);
  healthy_.store(false, std::memory_order_release);
  ++consecutive_failures_;
  bool eject = limits_.eject_after > 0 && consecutive_failures_ >= limits_.eject_after;
  if (eject || probing_) ejected_until_ = now_ms_() + limits_.eject_for_ms;
  probing_ = false;
}

void UpstreamGate::pauseFor(int64_t pause_ms) {
  bool waiting;
  {
    std::lock_guard lock(mutex_);
    paused_until_ = std::max(paused_until_, now_ms_() + pause_ms);
    if (rpm_) rpm_->drain(now_ms_());
    updateUnshapedLocked();
    waiting = !queue_.empty();
  }
  if (waiting && wake_pump_) wake_pump_();
}

bool UpstreamGate::available(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (ejected_until_ == 0) return true;
  if (now_ms < ejected_until_) return false;
  // One probe at a time. A probe that has not reported within eject_for (its client left before
  // the answer, it waited out its queue, or it was chosen and then not used) is given up, so the
  // upstream is not left out of rotation for good: the next request probes again.
  if (probing_ && now_ms < probe_given_up_at_) return false;
  probing_ = true;  // the cooldown is over: this request is the probe
  probe_given_up_at_ = now_ms + std::max<int64_t>(limits_.eject_for_ms, 1);
  return true;
}

double UpstreamGate::load() const {
  std::lock_guard lock(mutex_);
  return static_cast<double>(inFlightNow() + static_cast<int>(queue_.size())) / limits_.weight;
}

int UpstreamGate::inFlight() const {
  return inFlightNow();
}

int UpstreamGate::queued() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size());
}

UpstreamGates::UpstreamGates(std::function<int64_t()> now_ms) : now_ms_(std::move(now_ms)) {
  pump_ = std::thread([this] { pumpLoop(); });
  nameThread(pump_, "ark-gate-pump");
}

UpstreamGates::~UpstreamGates() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  pump_.join();
}

void UpstreamGates::wake() {
  {
    std::lock_guard lock(mutex_);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

void UpstreamGates::configure(const std::vector<UpstreamConfig>& upstreams) {
  bool waiting = false;
  {
    std::lock_guard lock(mutex_);
    for (const UpstreamConfig& upstream : upstreams) {
      auto it = gates_.find(upstream.name);
      if (it != gates_.end()) {
        waiting = it->second->setLimits(GateLimits::from(upstream)) || waiting;
        continue;
      }
      auto gate = std::make_unique<UpstreamGate>(GateLimits::from(upstream), now_ms_);
      gate->wake_pump_ = [this] { wake(); };
      gates_.emplace(upstream.name, std::move(gate));
    }
  }
  // A reload that raised or lifted a limit lets waiting requests in now, not at the next release
  // (which, for a generation in flight, can be minutes away). wake() takes our lock: after it.
  if (waiting) wake();
}

UpstreamGate& UpstreamGates::gate(const std::string& name) {
  std::lock_guard lock(mutex_);
  return *gates_.at(name);
}

size_t UpstreamGates::choose(const std::vector<std::string>& names) {
  if (names.size() <= 1) return 0;  // one candidate: chosen even when ejected
  int64_t now = now_ms_();
  size_t best = names.size();
  double best_load = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    UpstreamGate& candidate = gate(names[i]);
    double load = candidate.load();
    if (best != names.size() && load >= best_load) continue;
    if (!candidate.available(now)) continue;
    best = i;
    best_load = load;
  }
  return best == names.size() ? 0 : best;
}

void UpstreamGates::pumpLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_requested_ = false;
    int64_t next = 0;
    std::vector<UpstreamGate*> gates;
    for (auto& [name, gate] : gates_) gates.push_back(gate.get());
    lock.unlock();
    for (UpstreamGate* gate : gates) {
      int64_t at = gate->pump();
      if (at && (!next || at < next)) next = at;
    }
    lock.lock();
    if (stopping_ || wake_requested_) continue;
    if (next) {
      int64_t wait = std::max<int64_t>(next - now_ms_(), 1);
      wake_.wait_for(lock, std::chrono::milliseconds(wait));
    } else {
      wake_.wait(lock, [this] { return stopping_ || wake_requested_; });
    }
  }
}

}  // namespace arkroute
