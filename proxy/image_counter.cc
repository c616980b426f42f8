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
    feedStream(bytes);
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

// Reads lines through the shared splitter; it stops once the images asked for have begun.
struct ImageCounter::LineSink {
  ImageCounter& counter;
  bool linePiece(std::string_view piece) {
    counter.keepLine(piece);
    return true;
  }
  bool lineEnd() {
    counter.endLine();
    return counter.count_ < counter.enough_;
  }
};

void ImageCounter::feedStream(std::string_view bytes) {
  LineSink sink{*this};
  lines_.feed(bytes, sink);
}

// The line's first kKept bytes, and its last kKept, where a data line's "type" is when it
// follows the image.
void ImageCounter::keepLine(std::string_view piece) {
  if (line_.size() < kKept) line_.append(piece.substr(0, kKept - line_.size()));
  if (piece.size() >= kKept) {
    line_end_.assign(piece.substr(piece.size() - kKept));
    return;
  }
  line_end_.append(piece);
  if (line_end_.size() > kKept) line_end_.erase(0, line_end_.size() - kKept);
}

void ImageCounter::endLine() {
  if (line_.empty()) {
    endEvent();
    return;
  }
  auto [field, value] = sse::splitField(line_);
  if (field == "event") {
    event_kind_.assign(value);
  } else if (field == "data") {
    if (event_kind_.empty() && !has_data_) {  // an unnamed event: the type in its data
      event_kind_ = typeIn(value);
      if (event_kind_.empty()) event_kind_ = typeIn(line_end_);
    }
    has_data_ = true;
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

// An event is dispatched only when it had data, as SseCapture (and the standard) has it.
void ImageCounter::endEvent() {
  std::string_view kind(event_kind_);
  if (has_data_ && kind == "error") saw_error_ = true;
  if (has_data_ && kind.starts_with("image_") && kind.ends_with(".completed")) ++count_;
  event_kind_.clear();
  has_data_ = false;
}

}  // namespace arkroute
