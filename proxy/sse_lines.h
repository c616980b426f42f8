// SSE lines and fields as the HTML standard's event-stream rules say, for every reader of a stream
// that passes through (SseCapture keeps its images, ImageCounter counts them): a line ends at LF,
// CRLF or a bare CR, and a CRLF split between two reads is one ending. A line's bytes are handed
// over in pieces as they arrive, so a reader keeps only what it needs of a long (image) line.
#pragma once

#include <cstring>
#include <string_view>

namespace arkroute::sse {

// A line's field: the name before its first colon and the value after it, less one leading
// space. A line without a colon is a name with an empty value; a comment (":...") has name "".
struct Field {
  std::string_view name;
  std::string_view value;
};

inline Field splitField(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {line, {}};
  std::string_view value = line.substr(colon + 1);
  if (value.starts_with(' ')) value.remove_prefix(1);
  return {line.substr(0, colon), value};
}

class LineSplitter {
 public:
  // Feeds bytes in arrival order (any split). sink.linePiece(std::string_view) gets each
  // non-empty piece of the current line, without its ending; sink.lineEnd() gets each ending.
  // Either returns false to stop reading these bytes (a reader that has what it needs).
  template <typename Sink>
  void feed(std::string_view bytes, Sink& sink) {
    const char* at = bytes.data();
    const char* end = at + bytes.size();
    while (at < end) {
      if (after_cr_) {
        after_cr_ = false;
        if (*at == '\n' && ++at == end) return;  // the LF of a CRLF ends nothing more
      }
      const char* stop = lineEnd(at, end);
      if (stop > at && !sink.linePiece(std::string_view(at, static_cast<size_t>(stop - at)))) {
        return;
      }
      if (stop == end) return;
      after_cr_ = *stop == '\r';
      at = stop + 1;
      if (!sink.lineEnd()) return;
    }
  }

 private:
  // The first CR or LF in [at, end), whichever comes first; end when there is none.
  static const char* lineEnd(const char* at, const char* end) {
    const void* lf = std::memchr(at, '\n', static_cast<size_t>(end - at));
    const char* stop = lf ? static_cast<const char*>(lf) : end;
    const void* cr = std::memchr(at, '\r', static_cast<size_t>(stop - at));
    return cr ? static_cast<const char*>(cr) : stop;
  }

  bool after_cr_ = false;  // the last byte was a CR: an LF right after it ends no other line
};

}  // namespace arkroute::sse
