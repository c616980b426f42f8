// Streaming image counts for answers the gateway passes through without keeping them.
#include "proxy/image_counter.h"

#include <algorithm>
#include <cstring>

namespace arkroute {

void ImageCounter::feed(evbuffer* data) {
  int chunks = evbuffer_peek(data, -1, nullptr, nullptr, 0);
  if (chunks <= 0) return;
  constexpr int kOnStack = 16;
  evbuffer_iovec stack[kOnStack];
  std::string heap_room;
  evbuffer_iovec* vectors = stack;
  if (chunks > kOnStack) {
    heap_room.resize(sizeof(evbuffer_iovec) * static_cast<size_t>(chunks));
    vectors = reinterpret_cast<evbuffer_iovec*>(heap_room.data());
  }
  chunks = evbuffer_peek(data, -1, nullptr, vectors, chunks);
  for (int i = 0; i < chunks; ++i) {
    feed(std::string_view(static_cast<const char*>(vectors[i].iov_base), vectors[i].iov_len));
  }
}

void ImageCounter::feed(std::string_view bytes) {
  if (count_ >= enough_) return;
  const char* at = bytes.data();
  const char* end = at + bytes.size();
  if (stream_) {
    feedStream(at, end);
  } else {
    feedJson(at, end);
  }
}

int ImageCounter::images() const {
  if (stream_ || count_ >= enough_) return count_;
  return closed_ ? count_ : 0;
}

void ImageCounter::feedJson(const char* at, const char* end) {
  while (at < end && count_ < enough_) {
    if (in_string_) {
      at = skipString(at, end);
      continue;
    }
    char c = *at++;
    if (c == '"') {
      in_string_ = true;
      top_string_.clear();
    } else {
      structural(c);
    }
  }
}

// Past the string's closing quote, or end. One memchr pass: a quote is the string's end unless
// an odd run of backslashes precedes it (a run may begin in an earlier piece). A top-level
// string's first bytes are kept.
const char* ImageCounter::skipString(const char* at, const char* end) {
  const char* segment = at;  // this string's bytes in this piece, since the last escaped quote
  while (true) {
    const char* quote = static_cast<const char*>(std::memchr(at, '"', end - at));
    const char* stop = quote ? quote : end;
    size_t run = 0;
    while (stop - run > segment && stop[-1 - static_cast<std::ptrdiff_t>(run)] == '\\') ++run;
    if (stop - run == segment) run += backslash_carry_;
    if (depth_ == 1 && top_string_.size() < kKept) {
      top_string_.append(at, std::min<size_t>(stop - at, kKept - top_string_.size()));
    }
    if (!quote) {
      backslash_carry_ = run & 1;
      return end;
    }
    backslash_carry_ = 0;
    at = quote + 1;
    if (run & 1) {  // an escaped quote: the string goes on
      segment = at;
      continue;
    }
    in_string_ = false;
    if (depth_ == 1) last_top_string_ = top_string_;
    return at;
  }
}

void ImageCounter::structural(char c) {
  switch (c) {
    case '{':
    case '[':
      if (in_data_ && depth_ == 2) ++count_;  // an element of "data" begins
      ++depth_;
      if (c == '[' && depth_ == 2 && last_top_string_ == "data") in_data_ = true;
      break;
    case '}':
    case ']':
      if (--depth_ <= 1) in_data_ = false;
      if (depth_ == 0) closed_ = true;
      break;
    default:
      break;
  }
}

void ImageCounter::feedStream(const char* at, const char* end) {
  while (at < end && count_ < enough_) {
    const char* newline = static_cast<const char*>(std::memchr(at, '\n', end - at));
    const char* stop = newline ? newline : end;
    if (line_.size() < kKept) line_.append(at, std::min<size_t>(stop - at, kKept - line_.size()));
    keepLineEnd(at, stop);
    if (!newline) return;
    endLine();
    at = newline + 1;
  }
}

// The line's last kKept bytes, where a data line's "type" is when it follows the image.
void ImageCounter::keepLineEnd(const char* at, const char* stop) {
  size_t length = static_cast<size_t>(stop - at);
  if (length >= kKept) {
    line_end_.assign(stop - kKept, kKept);
    return;
  }
  line_end_.append(at, length);
  if (line_end_.size() > kKept) line_end_.erase(0, line_end_.size() - kKept);
}

void ImageCounter::endLine() {
  std::string_view line(line_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    endEvent();
  } else if (line.starts_with("event:")) {
    line.remove_prefix(6);
    while (line.starts_with(' ')) line.remove_prefix(1);
    event_kind_ = std::string(line);
  } else if (line.starts_with("data:") && event_kind_.empty()) {
    event_kind_ = typeIn(line);
    if (event_kind_.empty()) event_kind_ = typeIn(line_end_);
  }
  line_.clear();
  line_end_.clear();
}

// The value of a "type" member in text, or "" when text has none whole.
std::string ImageCounter::typeIn(std::string_view text) {
  static constexpr std::string_view kType = "\"type\":\"";
  size_t type = text.find(kType);
  if (type == std::string_view::npos) return "";
  std::string_view rest = text.substr(type + kType.size());
  size_t close = rest.find('"');
  return close == std::string_view::npos ? "" : std::string(rest.substr(0, close));
}

void ImageCounter::endEvent() {
  std::string_view kind(event_kind_);
  if (kind == "error") saw_error_ = true;
  if (kind.starts_with("image_") && kind.ends_with(".completed")) ++count_;
  event_kind_.clear();
}

}  // namespace arkroute
