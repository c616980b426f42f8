// HotEntries: a byte-bounded LRU of decoded entries with pinned (not yet written) inserts.
#include "cache/hot_entries.h"

namespace arkroute::cache {

uint64_t HotEntries::sizeOf(const Slot& slot) {
  return slot.entry->body.size() + slot.canonical.size();
}

std::shared_ptr<const CacheEntry> HotEntries::find(const Digest& digest,
                                                   const std::string* wanted_canonical,
                                                   int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(digest);
  if (it == slots_.end()) return nullptr;
  Slot& slot = it->second;
  if (judgeStoredEntry(slot.canonical, *slot.entry, wanted_canonical, now_ms) !=
      LookupStatus::kHit) {
    return nullptr;
  }
  if (!slot.pinned) lru_.splice(lru_.begin(), lru_, slot.age);
  return slot.entry;
}

void HotEntries::putPending(const Digest& digest, const std::string& canonical,
                            std::shared_ptr<const CacheEntry> entry) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(digest);
  if (it != slots_.end()) eraseLocked(it);
  Slot slot{canonical, std::move(entry), true, {}};
  bytes_ += sizeOf(slot);
  slots_.emplace(digest, std::move(slot));
  trimLocked();
}

void HotEntries::putRead(const Digest& digest, const std::string& canonical,
                         std::shared_ptr<const CacheEntry> entry, uint64_t removals_seen) {
  std::lock_guard lock(mutex_);
  if (removedSinceLocked(digest, removals_seen) || slots_.count(digest) > 0) return;
  lru_.push_front(digest);
  Slot slot{canonical, std::move(entry), false, lru_.begin()};
  bytes_ += sizeOf(slot);
  slots_.emplace(digest, std::move(slot));
  trimLocked();
}

void HotEntries::markWritten(const Digest& digest, const CacheEntry* entry) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(digest);
  if (it == slots_.end() || it->second.entry.get() != entry || !it->second.pinned) return;
  lru_.push_front(digest);
  it->second.pinned = false;
  it->second.age = lru_.begin();
  trimLocked();
}

void HotEntries::eraseIfSame(const Digest& digest, const CacheEntry* entry) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(digest);
  if (it != slots_.end() && it->second.entry.get() == entry) eraseLocked(it);
}

void HotEntries::eraseUnpinned(const Digest& digest) {
  std::lock_guard lock(mutex_);
  // Counted also when it is not here: a read in flight may be about to put it here.
  uint64_t number = removals_.load() + 1;
  removals_.store(number);
  recent_removals_.emplace_back(digest, number);
  if (recent_removals_.size() > kRemovalsKept) recent_removals_.pop_front();
  auto it = slots_.find(digest);
  if (it != slots_.end() && !it->second.pinned) eraseLocked(it);
}

// Removals since removals_seen are numbered removals_seen + 1 on: the ones no longer kept may
// have been digest's.
bool HotEntries::removedSinceLocked(const Digest& digest, uint64_t removals_seen) const {
  if (removals_.load() == removals_seen) return false;
  if (recent_removals_.empty() || recent_removals_.front().second > removals_seen + 1) return true;
  for (auto it = recent_removals_.rbegin(); it != recent_removals_.rend(); ++it) {
    if (it->second <= removals_seen) break;
    if (it->first == digest) return true;
  }
  return false;
}

uint64_t HotEntries::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

size_t HotEntries::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

void HotEntries::eraseLocked(Map::iterator it) {
  bytes_ -= sizeOf(it->second);
  if (!it->second.pinned) lru_.erase(it->second.age);
  slots_.erase(it);
}

// Drops least recently used unpinned entries while over the limit; pinned ones always stay.
void HotEntries::trimLocked() {
  while (bytes_ > limit_bytes_ && !lru_.empty()) eraseLocked(slots_.find(lru_.back()));
}

}  // namespace arkroute::cache
