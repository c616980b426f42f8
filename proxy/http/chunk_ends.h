// The CRLF after each chunk's data in a chunked body. http-parser as Debian builds it
// (HTTP_PARSER_STRICT off) skips any two bytes there, so "2d\r\n{...}XX0\r\n\r\n" passes as a
// valid body: a framing disagreement with stricter peers (the request-smuggling class), and a
// provider's broken framing that would be served and cached as a good answer. ChunkEnds checks
// those two bytes itself, wherever the reads split them, for the server's and the upstream's
// parser alike.
#pragma once

#include <http_parser.h>

#include <cstddef>

namespace arkroute::http {

class ChunkEnds {
 public:
  // Before each http_parser_execute over [data, data + length): checks the bytes still due from a
  // chunk that ended at the previous read's end. False: they are not CRLF.
  bool beginRead(const char* data, size_t length) {
    end_ = data + length;
    return checkFrom(data);
  }
  // From on_body: a piece of body ended at `end` (within the read). When it ended its chunk's data
  // (the parser has no chunk bytes left), the next two bytes must be CRLF. False: they are not.
  bool bodyPiece(const http_parser* parser, const char* end) {
    if ((parser->flags & F_CHUNKED) == 0 || parser->content_length != 0) return true;
    matched_ = 0;
    due_ = true;
    return checkFrom(end);
  }
  void reset() { due_ = false; }

 private:
  bool checkFrom(const char* at) {
    static constexpr char kCrlf[2] = {'\r', '\n'};
    while (due_ && at < end_) {
      if (*at++ != kCrlf[matched_]) return false;
      if (++matched_ == 2) due_ = false;
    }
    return true;
  }

  const char* end_ = nullptr;
  bool due_ = false;  // the CRLF after a chunk's data is not all seen yet
  int matched_ = 0;   // ...and this many of its bytes were
};

}  // namespace arkroute::http
