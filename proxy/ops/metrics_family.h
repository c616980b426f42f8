// A labelled metric family: one child value (Counter, Gauge or Histogram) per distinct tuple of
// label values, created on first use. with() takes a shared lock on the common path (the child
// exists, looked up without allocating) and an exclusive one only to create a child; children are
// never removed, so a returned reference stays valid as long as the family (the registry) lives
// and may be kept by callers.
// Label values must come from bounded sets (configured names, status codes), never from clients.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace arkroute::ops {

template <typename T>
class MetricFamily {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;
  static constexpr size_t kMaxLabels = 8;

  MetricFamily(std::vector<std::string> label_names, Factory factory)
      : label_names_(std::move(label_names)), factory_(std::move(factory)) {
    if (label_names_.size() > kMaxLabels) throw std::invalid_argument("too many metric labels");
  }
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // The child for these label values (missing values are "", extra ones are dropped).
  // Thread-safe.
  T& with(std::initializer_list<std::string_view> given) {
    std::array<std::string_view, kMaxLabels> padded{};
    size_t count = std::min(label_names_.size(), kMaxLabels);
    std::copy_n(given.begin(), std::min(given.size(), count), padded.begin());
    std::span<const std::string_view> values(padded.data(), count);
    {
      std::shared_lock lock(mutex_);
      auto found = children_.find(values);
      if (found != children_.end()) return *found->second;
    }
    std::unique_lock lock(mutex_);
    auto& slot = children_[std::vector<std::string>(values.begin(), values.end())];
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
  // Orders label tuples like std::vector<std::string>'s operator<, and also compares them with a
  // span of string_views, so lookups need no allocation.
  struct LabelsLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };
  std::map<std::vector<std::string>, std::unique_ptr<T>, LabelsLess> children_;
};

}  // namespace arkroute::ops
