// Record encoding (length-prefixed fields + checksum) and shared lookup accounting.
#include <xxhash.h>

#include <cstring>

#include "cache/cache_store.h"

namespace arkroute::cache {

namespace {

constexpr uint8_t kRecordVersion = 1;
constexpr char kMagic[4] = {'A', 'R', 'K', 'C'};

template <typename T>
void put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}

void putString(std::string* out, std::string_view text) {
  put<uint64_t>(out, text.size());
  out->append(text);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool get(T* value) {
    if (bytes_.size() - at_ < sizeof(T)) return false;
    std::memcpy(value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool getString(std::string* out) {
    uint64_t length = 0;
    if (!get(&length) || bytes_.size() - at_ < length) return false;
    out->assign(bytes_.data() + at_, length);
    at_ += length;
    return true;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t at_ = 0;
};

}  // namespace

std::string_view toString(LookupStatus status) {
  switch (status) {
    case LookupStatus::kHit:
      return "hit";
    case LookupStatus::kMiss:
      return "miss";
    case LookupStatus::kExpired:
      return "expired";
    case LookupStatus::kCorrupt:
      return "corrupt";
    case LookupStatus::kKeyMismatch:
      return "key_mismatch";
  }
  return "unknown";
}

void StoreCounters::count(LookupStatus status) {
  switch (status) {
    case LookupStatus::kHit:
      ++hits;
      return;
    case LookupStatus::kExpired:
      ++expired;
      ++misses;
      return;
    case LookupStatus::kCorrupt:
      ++corrupt;
      ++misses;
      return;
    default:
      ++misses;
      return;
  }
}

std::string encodeRecord(std::string_view canonical, const CacheEntry& entry) {
  std::string out;
  out.reserve(entry.body.size() + canonical.size() + 128);
  out.append(kMagic, 4);
  put<uint8_t>(&out, kRecordVersion);
  putString(&out, canonical);
  put<int64_t>(&out, entry.created_ms);
  put<int64_t>(&out, entry.expires_ms);
  put<double>(&out, entry.cost_usd);
  putString(&out, entry.content_type);
  putString(&out, entry.model);
  putString(&out, entry.body);
  put<uint64_t>(&out, XXH3_64bits(out.data(), out.size()));
  return out;
}

bool decodeRecord(std::string_view bytes, std::string* canonical, CacheEntry* entry) {
  if (bytes.size() < 4 + 1 + 8 || std::memcmp(bytes.data(), kMagic, 4) != 0) return false;
  uint64_t stored_sum;
  std::memcpy(&stored_sum, bytes.data() + bytes.size() - 8, 8);
  std::string_view payload = bytes.substr(0, bytes.size() - 8);
  if (XXH3_64bits(payload.data(), payload.size()) != stored_sum) return false;
  Reader reader(payload.substr(4));
  uint8_t version = 0;
  return reader.get(&version) && version == kRecordVersion && reader.getString(canonical) &&
         reader.get(&entry->created_ms) && reader.get(&entry->expires_ms) &&
         reader.get(&entry->cost_usd) && reader.getString(&entry->content_type) &&
         reader.getString(&entry->model) && reader.getString(&entry->body) && reader.done();
}

}  // namespace arkroute::cache
