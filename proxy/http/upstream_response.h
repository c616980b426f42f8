// Incremental parser for one upstream HTTP/1.1 response at a time: collects the status line and
// headers, skips interim 1xx responses, and moves de-chunked body bytes out of the socket's input
// buffer into a body buffer without copying whole chains. A whole simple head with a
// Content-Length takes the fast path (simple_head.h); everything else goes through http-parser.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/http/chunk_ends.h"
#include "proxy/http/headers.h"

struct evbuffer;

namespace arkroute::http {

class ResponseParser {
 public:
  ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Prepares for the response to the next request. head_request: the request was HEAD, so the
  // response has no body whatever its headers say.
  void reset(bool head_request);
  // Consumes response bytes from input: the head and chunk framing are drained, body bytes are
  // moved to body (whole evbuffer chains move without a copy). Stops right after the end of the
  // response and leaves any later bytes in input. Returns false on a malformed response (error()).
  bool parse(evbuffer* input, evbuffer* body);
  // The peer closed the connection: ends a close-delimited body. Call once input is parsed.
  void finishAtEof();

  bool headComplete() const { return head_complete_; }  // final (non-1xx) head parsed
  int status() const { return status_; }
  const Headers& headers() const { return headers_; }
  bool complete() const { return complete_; }
  // HTTP/1.1 without "Connection: close": the connection may carry another request. Valid once
  // complete().
  bool keepAlive() const { return keep_alive_; }
  bool started() const { return bytes_parsed_ > 0; }  // any response byte seen
  const std::string& error() const { return error_; }

 private:
  struct Segment {
    size_t offset;  // from the start of the chunk being parsed
    size_t length;
  };
  static int onHeaderField(http_parser* parser, const char* at, size_t length);
  static int onHeaderValue(http_parser* parser, const char* at, size_t length);
  static int onHeadersComplete(http_parser* parser);
  static int onBody(http_parser* parser, const char* at, size_t length);
  static int onMessageComplete(http_parser* parser);
  static const http_parser_settings& settings();

  void clearHead();
  // The fast path: takes a whole simple head from the start of input. False: use http-parser.
  bool takeSimpleHead(evbuffer* input);
  void moveCountedBody(evbuffer* input, evbuffer* body);
  void countedBodyMoved(size_t length);
  void moveBody(evbuffer* input, evbuffer* body, size_t consumed);

  http_parser parser_;
  ChunkEnds chunk_ends_;  // checks what this libhttp-parser build does not (chunk_ends.h)
  bool head_request_ = false;
  int status_ = 0;
  Headers headers_;
  std::string field_;
  bool in_value_ = false;
  bool skip_field_ = false;  // the current field's name is not a token even once trimmed
  bool head_complete_ = false;
  bool interim_ = false;  // parsing a 1xx response that is dropped when it ends
  bool complete_ = false;
  bool keep_alive_ = false;
  bool counted_body_ = false;  // the fast path took the head: body_left_ bytes of body follow
  uint64_t body_left_ = 0;
  bool counted_keep_alive_ = false;  // keep_alive_ once the counted body is complete
  uint64_t bytes_parsed_ = 0;
  std::string error_;
  const char* chunk_ = nullptr;  // start of the contiguous bytes handed to http_parser_execute
  std::vector<Segment> segments_;
};

}  // namespace arkroute::http
