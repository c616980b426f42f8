// A labelled metric family: one child value (Counter, Gauge or Histogram) per distinct tuple of
// label values, created on first use. with() takes a shared lock on the common path (the child
// exists) and an exclusive one only to create a child; children are never removed, so a returned
// reference stays valid as long as the family (the registry) lives and may be kept by callers.
// Label values must come from bounded sets (configured names, status codes), never from clients.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace arkroute::ops {

template <typename T>
class MetricFamily {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;

  MetricFamily(std::vector<std::string> label_names, Factory factory)
      : label_names_(std::move(label_names)), factory_(std::move(factory)) {}
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // The child for these label values (missing values are "", extra ones are dropped).
  // Thread-safe.
  T& with(std::vector<std::string> values) {
    values.resize(label_names_.size());
    {
      std::shared_lock lock(mutex_);
      auto found = children_.find(values);
      if (found != children_.end()) return *found->second;
    }
    std::unique_lock lock(mutex_);
    auto& slot = children_[std::move(values)];
    if (!slot) slot = factory_();
    return *slot;
  }

  const std::vector<std::string>& labelNames() const { return label_names_; }

  // Calls visit(label values, child) for every child, in label order, under a shared lock.
  template <typename Visit>
  void forEach(Visit visit) const {
    std::shared_lock lock(mutex_);
    for (const auto& [values, child] : children_) visit(values, *child);
  }

 private:
  std::vector<std::string> label_names_;
  Factory factory_;
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

}  // namespace arkroute::ops
