// A labelled metric family: one child value (Counter, Gauge or Histogram) per distinct tuple of
// label values, created on first use. with() first asks a small per-thread memo of recent lookups
// (no lock, no allocation), then takes a shared lock on the map (the child exists, looked up
// without allocating) and an exclusive one only to create a child. Children are never removed, so
// a returned reference stays valid as long as the family (the registry) lives and may be kept by
// callers.
// Label values must come from bounded sets (configured names, status codes), never from clients.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
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

// An id for whatever owns entries of a per-thread memo (a family, the request metrics), never
// reused: an address can be, once its owner is gone, and a stale entry must never match again.
inline uint64_t nextMemoOwnerId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

template <typename T>
class MetricFamily {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;
  static constexpr size_t kMaxLabels = 8;

  MetricFamily(std::vector<std::string> label_names, Factory factory)
      : label_names_(std::move(label_names)), factory_(std::move(factory)), id_(nextMemoOwnerId()) {
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
    MemoSlot& memo = memoSlot(values);
    if (memo.family == id_ && std::equal(values.begin(), values.end(), memo.values.begin())) {
      return *memo.child;
    }
    T& child = find(values);
    memo.family = id_;
    std::copy(values.begin(), values.end(), memo.values.begin());
    memo.child = &child;
    return child;
  }

  const std::vector<std::string>& labelNames() const { return label_names_; }

  // Calls visit(label values, child) for every child, in label order, under a shared lock.
  template <typename Visit>
  void forEach(Visit visit) const {
    std::shared_lock lock(mutex_);
    for (const auto& [values, child] : children_) visit(values, *child);
  }

 private:
  T& find(std::span<const std::string_view> values) {
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

  // One entry of the per-thread memo. A family is known by an id that is never reused (an address
  // can be, once a registry is gone), so an entry of a destroyed family never matches again.
  struct MemoSlot {
    uint64_t family = 0;
    std::array<std::string, kMaxLabels> values;
    T* child = nullptr;
  };
  static constexpr size_t kMemoSlots = 64;

  MemoSlot& memoSlot(std::span<const std::string_view> values) const {
    thread_local std::array<MemoSlot, kMemoSlots> memo;
    uint64_t hash = 14695981039346656037ull ^ id_;  // FNV-1a over the values and their ends
    for (std::string_view value : values) {
      for (char c : value) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
      hash = (hash ^ 0xff) * 1099511628211ull;
    }
    return memo[hash % kMemoSlots];
  }

  std::vector<std::string> label_names_;
  Factory factory_;
  const uint64_t id_;
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
