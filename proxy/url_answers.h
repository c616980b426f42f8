// Per-worker memo of url-format answers to cache hits. Such an answer is a function of the stored
// entry, the gateway's public URL and the entry's id, yet building it means parsing the stored
// body (1–2 MB for real images) on every hit; the memo builds it once per entry and worker.
// Bounded (oldest out first), so answers of entries gone from the cache leave in time; a dead
// entry's answer is never served (its weak reference no longer locks). One per worker: no locks.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cache/cache_store.h"

namespace arkroute {

class UrlAnswers {
 public:
  explicit UrlAnswers(size_t capacity = 1024) : capacity_(capacity) {}

  // The url answer for entry (see toUrlResponse), built now or remembered; nullptr when the entry
  // cannot be turned into one.
  std::shared_ptr<const std::string> get(const std::shared_ptr<const cache::CacheEntry>& entry,
                                         std::string_view public_url, std::string_view id);
  size_t size() const { return answers_.size(); }

 private:
  struct Answer {
    std::weak_ptr<const cache::CacheEntry> entry;  // tells a live entry from a reused address
    std::string public_url;
    std::string id;
    std::shared_ptr<const std::string> text;
  };

  void remember(const cache::CacheEntry* key, Answer answer);

  size_t capacity_;
  std::unordered_map<const cache::CacheEntry*, Answer> answers_;
  std::deque<const cache::CacheEntry*> order_;  // insertion order, for eviction
};

}  // namespace arkroute
