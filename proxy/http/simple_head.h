// Fast path for the common HTTP/1.x message head: one whole head in one buffer, framed by a single
// Content-Length (or by nothing, for requests), nothing that needs interpretation beyond that.
// picohttpparser does the parsing (Debian ships it inside libh2o-evloop). Anything else (a head
// split across reads, chunked framing, 1xx, Upgrade, Expect, obsolete line folding, duplicate
// lengths, a malformed line) is declined, and the caller hands the same bytes to http-parser,
// which keeps every rule and error message it had.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/http/headers.h"

namespace arkroute::http {

struct SimpleHead {
  size_t head_bytes = 0;    // the head's length, blank line included
  int version_minor = 1;    // HTTP/1.<minor>
  int status = 0;           // responses
  std::string_view method;  // requests: a view into the parsed bytes
  std::string_view target;  // requests: as sent
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool keep_alive = false;  // another message may follow on the connection
};

// Parses the response head at the start of data into out and headers. Returns false, with headers
// cleared, when the head is incomplete or is not a plain 2xx-5xx response with one Content-Length.
bool parseSimpleResponseHead(std::string_view data, size_t max_head_bytes, SimpleHead* out,
                             Headers* headers);

// The same for a request head: a known method, no Transfer-Encoding, Expect or Upgrade, at most
// one Content-Length.
bool parseSimpleRequestHead(std::string_view data, size_t max_head_bytes, SimpleHead* out,
                            Headers* headers);

}  // namespace arkroute::http
