// Timeouts of one fixed length, such as a pool's first-byte or total timeout for its calls. Their
// deadlines come in the order they were started, so they are kept in an intrusive list in that
// order, backed by one LazyTimer for the oldest: starting or stopping one touches no timer heap
// (a libevent timer per call cost an insert and up to three removals per request).
#pragma once

#include <event2/event.h>

#include <chrono>

#include "proxy/http/lazy_timer.h"

namespace arkroute::http {

class DeadlineList {
 public:
  using Clock = std::chrono::steady_clock;
  using Expired = void (*)(void* owner);

  // One timeout, a member of what it times (owner); it may be started again once it has stopped
  // or expired.
  class Entry {
   public:
    explicit Entry(void* owner) : owner_(owner) {}
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    bool running() const { return list_ != nullptr; }

   private:
    friend class DeadlineList;
    void* owner_;
    DeadlineList* list_ = nullptr;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
    Clock::time_point deadline_{};
  };

  // expired(owner) runs once an entry's `length` has passed since start(entry), unless stopped.
  DeadlineList(event_base* base, std::chrono::milliseconds length, Expired expired);
  ~DeadlineList();
  DeadlineList(const DeadlineList&) = delete;
  DeadlineList& operator=(const DeadlineList&) = delete;

  void start(Entry* entry);  // (re)starts its timeout from now
  void stop(Entry* entry);   // nothing when it is not running
  std::chrono::milliseconds length() const { return length_; }

 private:
  static void onTimer(void* arg);
  void unlink(Entry* entry);
  void armForOldest(Clock::time_point now);

  LazyTimer timer_;
  std::chrono::milliseconds length_;
  Expired expired_;
  Entry* oldest_ = nullptr;
  Entry* newest_ = nullptr;
  bool* alive_ = nullptr;  // set while expired callbacks run: cleared if one destroys the list
};

}  // namespace arkroute::http
