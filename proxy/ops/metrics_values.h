// The two scalar metric values: Counter (only goes up) and Gauge (goes up and down). Any thread may
// update them without a lock, each in its own cache line (thread_shard.h); a scrape
// reads a value at most a few updates old.
#pragma once

#include "proxy/thread_shard.h"

namespace arkroute::ops {

class Counter {
 public:
  // Adds amount; negative amounts are ignored (a counter never goes down).
  void inc(double amount = 1.0) {
    if (amount > 0) value_.add(amount);
  }
  double value() const { return value_.total(); }

 private:
  ShardedTotal<double> value_;
};

class Gauge {
 public:
  void add(double amount = 1.0) { value_.add(amount); }
  void sub(double amount = 1.0) { value_.add(-amount); }
  double value() const { return value_.total(); }

 private:
  ShardedTotal<double> value_;
};

}  // namespace arkroute::ops
