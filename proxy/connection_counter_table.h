// Per-upstream connection counters, shared by every worker's pool of an upstream and read by the
// metrics. An upstream a config reload adds gets its counters when its first pool is made, so its
// series appear like those of the upstreams present at start. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/http/upstream.h"

namespace arkroute {

class ConnectionCounterTable {
 public:
  // The counters of upstream `name`, made on first use.
  std::shared_ptr<http::ConnectionCounters> forUpstream(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& counters = table_[name];
    if (!counters) counters = std::make_shared<http::ConnectionCounters>();
    return counters;
  }
  // Calls visit(name, counters) for each upstream, in name order.
  template <typename Visit>
  void forEach(Visit visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [name, counters] : table_) visit(name, *counters);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<http::ConnectionCounters>> table_;
};

}  // namespace arkroute
