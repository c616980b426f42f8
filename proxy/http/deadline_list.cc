// DeadlineList: fixed-length timeouts in start order, one lazy timer for the oldest.
#include "proxy/http/deadline_list.h"

namespace arkroute::http {

DeadlineList::DeadlineList(event_base* base, std::chrono::milliseconds length, Expired expired)
    : timer_(base, &DeadlineList::onTimer, this), length_(length), expired_(expired) {}

DeadlineList::~DeadlineList() {
  if (alive_) *alive_ = false;
  for (Entry* entry = oldest_; entry != nullptr; entry = entry->next_) entry->list_ = nullptr;
}

void DeadlineList::start(Entry* entry) {
  stop(entry);
  Clock::time_point now = Clock::now();
  entry->deadline_ = now + length_;
  entry->list_ = this;
  // Clock::now() never goes back and the length is fixed: the newest deadline is the latest, so
  // this walk ends at once. It keeps the order even if that ever did not hold.
  Entry* before = newest_;
  while (before != nullptr && before->deadline_ > entry->deadline_) before = before->prev_;
  entry->prev_ = before;
  entry->next_ = before ? before->next_ : oldest_;
  (entry->next_ ? entry->next_->prev_ : newest_) = entry;
  (before ? before->next_ : oldest_) = entry;
  // An armed timer is set for an older deadline (perhaps of an entry stopped since): when it
  // fires, the list re-arms for whichever is oldest then.
  if (!timer_.armed() || oldest_ == entry) timer_.arm(length_);
}

void DeadlineList::stop(Entry* entry) {
  if (entry->list_ != this) return;
  unlink(entry);
}

void DeadlineList::unlink(Entry* entry) {
  (entry->prev_ ? entry->prev_->next_ : oldest_) = entry->next_;
  (entry->next_ ? entry->next_->prev_ : newest_) = entry->prev_;
  entry->prev_ = entry->next_ = nullptr;
  entry->list_ = nullptr;
}

void DeadlineList::armForOldest(Clock::time_point now) {
  if (!oldest_) return;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(oldest_->deadline_ - now);
  timer_.arm(std::max(left, std::chrono::milliseconds(0)));
}

void DeadlineList::onTimer(void* arg) {
  auto* self = static_cast<DeadlineList*>(arg);
  bool alive = true;
  self->alive_ = &alive;
  Clock::time_point now = Clock::now();
  while (self->oldest_ != nullptr && self->oldest_->deadline_ <= now) {
    Entry* expired = self->oldest_;
    self->unlink(expired);
    self->expired_(expired->owner_);  // may stop or destroy other entries, or the list
    if (!alive) return;
  }
  self->alive_ = nullptr;
  self->armForOldest(now);
}

}  // namespace arkroute::http
