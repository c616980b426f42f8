// ImageCounter: how many images an answer delivers, read as it streams through without keeping
// it. A JSON body's images are the elements of its top-level "data" array, counted only once the
// document has closed; a stream's are its completed-image events (image_generation.completed,
// image_edit.completed), read from lines as SseCapture reads them (sse_lines.h), and an `error`
// event is noted. Strings, where the base64 images are, are skipped with memchr: the count costs
// one fast pass over the bytes, not a parse, and it stops once the images asked for have begun
// (an answer to n = 1 is read up to its first image's start): only an answer short of them is
// read to its end. Its framing (Content-Length, chunked) is the HTTP layer's to check.
#pragma once

#include <event2/buffer.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/sse_lines.h"

namespace arkroute {

class ImageCounter {
 public:
  // enough: the images asked for (n); the count stops there.
  ImageCounter(bool stream, int enough) : stream_(stream), enough_(enough) {}

  void feed(evbuffer* data);  // data is left as it is
  void feed(std::string_view bytes);

  // The images delivered: `enough` once that many began; else 0 for a JSON body that did not
  // close (cut short, not JSON) or had none.
  int images() const;
  // A stream that carried an `error` event.
  bool sawError() const { return saw_error_; }

 private:
  void feedJson(const char* at, const char* end);
  const char* skipString(const char* at, const char* end);
  void structural(char c);
  struct LineSink;
  void feedStream(std::string_view bytes);
  void keepLine(std::string_view piece);
  void endLine();
  static std::string typeIn(std::string_view text);
  void endEvent();

  static constexpr size_t kKept = 96;  // of each stream line / each top-level JSON string

  bool stream_;
  int enough_;
  int count_ = 0;
  // JSON: nesting depth, inside a string (and the parity of the backslashes that ended the last
  // piece inside it), the first bytes of the top-level string being read, the last top-level string
  // (a member name before '['), inside the top-level "data" array, and whether the document closed.
  int depth_ = 0;
  bool in_string_ = false;
  size_t backslash_carry_ = 0;
  std::string top_string_;
  std::string last_top_string_;
  bool in_data_ = false;
  bool closed_ = false;
  // Stream: its lines (sse_lines.h, as SseCapture reads them), the current line's first and last
  // bytes, the event's name or its data's "type", and whether the event had data.
  sse::LineSplitter lines_;
  std::string line_;
  std::string line_end_;
  std::string event_kind_;
  bool has_data_ = false;
  bool saw_error_ = false;
};

}  // namespace arkroute
