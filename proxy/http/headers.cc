// Header list operations and the reason-phrase table.
#include "proxy/http/headers.h"

#include <algorithm>
#include <functional>

#include "proxy/http/piece_writer.h"

namespace arkroute::http {

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() ||
      !equalsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  return trimOws(authorization.substr(kScheme.size()));
}

bool Headers::inText(std::string_view piece) const {
  std::less<const char*> before;
  return !piece.empty() && !before(piece.data(), text()) && before(piece.data(), text() + used_);
}

void Headers::grow(size_t more_entries, size_t more_bytes) {
  // 16 fields and 512 bytes hold a typical message at once, instead of growing 1, 2, 4, 8...
  size_t entry_capacity = entry_capacity_;
  if (more_entries > 0 || entry_capacity == 0) {
    entry_capacity = std::max<size_t>({16, entry_capacity_ * 2, count_ + more_entries});
  }
  size_t text_capacity = textCapacity();
  if (more_bytes > 0 || text_capacity == 0) {
    text_capacity = std::max({size_t{512}, text_capacity * 2, used_ + more_bytes});
  }
  size_t block_size = entry_capacity + (text_capacity + sizeof(Entry) - 1) / sizeof(Entry);
  auto block = std::make_unique_for_overwrite<Entry[]>(block_size);  // not zeroed
  copyUsed(*this, block.get(), entry_capacity);
  block_ = std::move(block);
  block_size_ = static_cast<uint32_t>(block_size);
  entry_capacity_ = static_cast<uint32_t>(entry_capacity);
}

void Headers::copyUsed(const Headers& from, Entry* block, size_t entry_capacity) {
  if (from.count_ > 0) std::memcpy(block, from.entries(), from.count_ * sizeof(Entry));
  if (from.used_ > 0) {
    std::memcpy(reinterpret_cast<char*>(block + entry_capacity), from.text(), from.used_);
  }
}

Headers::Headers(const Headers& other)
    : block_size_(other.block_size_),
      entry_capacity_(other.entry_capacity_),
      count_(other.count_),
      used_(other.used_) {
  if (block_size_ == 0) return;
  block_ = std::make_unique_for_overwrite<Entry[]>(block_size_);
  copyUsed(other, block_.get(), entry_capacity_);
}

void Headers::add(std::string_view name, std::string_view value) {
  if (inText(name) || inText(value)) {  // growing the text would move what the views point at
    add(std::string(name), std::string(value));
    return;
  }
  reserveEntry();
  PieceWriter(reserveText(name.size() + value.size())).put(name).put(value);
  entries()[count_++] =
      Entry{used_, static_cast<uint32_t>(name.size()), static_cast<uint32_t>(used_ + name.size()),
            static_cast<uint32_t>(value.size())};
  used_ += static_cast<uint32_t>(name.size() + value.size());
}

void Headers::appendToLastValue(std::string_view more) {
  if (inText(more)) {
    appendToLastValue(std::string(more));
    return;
  }
  size_t last = count_ - 1;  // an index: growing the block moves the entries too
  // Only the newest field's value can grow in place; anything added after it moves it to the end.
  if (entries()[last].value_at + entries()[last].value_length != used_) {
    std::string value(fieldAt(last).second);
    PieceWriter(reserveText(value.size())).put(value);  // may move the text: value is a copy
    entries()[last].value_at = used_;
    used_ += static_cast<uint32_t>(value.size());
  }
  PieceWriter(reserveText(more.size())).put(more);
  used_ += static_cast<uint32_t>(more.size());
  entries()[last].value_length += static_cast<uint32_t>(more.size());
}

void Headers::set(std::string_view name, std::string_view value) {
  remove(name);  // leaves the text as it is, so views into it stay valid for add
  add(name, value);
}

void Headers::remove(std::string_view name) {
  // The removed fields' bytes stay in the text until clear(): removals are rare and few.
  uint32_t kept = 0;
  for (uint32_t i = 0; i < count_; ++i) {
    const Entry& e = entries()[i];
    if (!equalsIgnoreCase(piece(e.name_at, e.name_length), name)) entries()[kept++] = e;
  }
  count_ = kept;
}

std::optional<std::string_view> Headers::find(std::string_view name) const {
  for (const Entry *e = entries(), *end = e + count_; e != end; ++e) {
    if (equalsIgnoreCase(piece(e->name_at, e->name_length), name)) {
      return piece(e->value_at, e->value_length);
    }
  }
  return std::nullopt;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace arkroute::http
