// The two scalar metric values: Counter (only goes up) and Gauge (set, add, subtract). Lock-free
// relaxed atomics: any thread may update them, a scrape reads a value at most a few updates old.
#pragma once

#include <atomic>

namespace arkroute::ops {

class Counter {
 public:
  // Adds amount; negative amounts are ignored (a counter never goes down).
  void inc(double amount = 1.0) {
    if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double amount = 1.0) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void sub(double amount = 1.0) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace arkroute::ops
