// Record encoding: length-prefixed little-endian fields and a trailing XXH3-64 checksum.
#include "cache/cache_record.h"

#include <xxhash.h>

#include <bit>
#include <cstring>

namespace arkroute::cache {

namespace {

constexpr char kMagic[4] = {'A', 'R', 'K', 'C'};
constexpr size_t kChecksumBytes = 8;

void putU64(uint64_t value, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void putString(std::string_view text, std::string* out) {
  putU64(text.size(), out);
  out->append(text);
}

uint64_t readU64At(const char* data) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(data[i]);
  return value;
}

// Reads fields front to back; every read fails once the bytes run out.
class FieldReader {
 public:
  explicit FieldReader(std::string_view bytes) : bytes_(bytes) {}
  bool readU64(uint64_t* value) {
    if (bytes_.size() - at_ < 8) return false;
    *value = readU64At(bytes_.data() + at_);
    at_ += 8;
    return true;
  }
  bool readI64(int64_t* value) {
    uint64_t bits = 0;
    if (!readU64(&bits)) return false;
    *value = static_cast<int64_t>(bits);
    return true;
  }
  bool readDouble(double* value) {
    uint64_t bits = 0;
    if (!readU64(&bits)) return false;
    *value = std::bit_cast<double>(bits);
    return true;
  }
  bool readString(std::string* out) {
    uint64_t length = 0;
    if (!readU64(&length) || bytes_.size() - at_ < length) return false;
    out->assign(bytes_.data() + at_, length);
    at_ += length;
    return true;
  }
  bool atEnd() const { return at_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t at_ = 0;
};

}  // namespace

std::string encodeRecord(std::string_view canonical, const CacheEntry& entry) {
  std::string out;
  out.reserve(64 + canonical.size() + entry.content_type.size() + entry.model.size() +
              entry.body.size());
  out.append(kMagic, sizeof kMagic);
  out.push_back(static_cast<char>(kRecordFormatVersion));
  putString(canonical, &out);
  putU64(static_cast<uint64_t>(entry.created_ms), &out);
  putU64(static_cast<uint64_t>(entry.expires_ms), &out);
  putU64(std::bit_cast<uint64_t>(entry.cost_usd), &out);
  putString(entry.content_type, &out);
  putString(entry.model, &out);
  putString(entry.body, &out);
  putU64(XXH3_64bits(out.data(), out.size()), &out);
  return out;
}

bool decodeRecord(std::string_view bytes, std::string* canonical, CacheEntry* entry) {
  constexpr size_t kHeaderBytes = sizeof kMagic + 1;
  if (bytes.size() < kHeaderBytes + kChecksumBytes) return false;
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return false;
  if (static_cast<uint8_t>(bytes[sizeof kMagic]) != kRecordFormatVersion) return false;
  std::string_view payload = bytes.substr(0, bytes.size() - kChecksumBytes);
  if (XXH3_64bits(payload.data(), payload.size()) != readU64At(payload.data() + payload.size())) {
    return false;
  }
  FieldReader reader(payload.substr(kHeaderBytes));
  return reader.readString(canonical) && reader.readI64(&entry->created_ms) &&
         reader.readI64(&entry->expires_ms) && reader.readDouble(&entry->cost_usd) &&
         reader.readString(&entry->content_type) && reader.readString(&entry->model) &&
         reader.readString(&entry->body) && reader.atEnd();
}

}  // namespace arkroute::cache
