// Keeps a copy of an upstream response as it streams to the client, so a complete, successful
// generation can be stored in the cache: raw JSON bodies are kept whole (up to a limit), SSE
// streams through SseCapture. It decides nothing about HTTP; the handler tells it what arrived.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/sse_capture.h"

namespace arkroute {

class ResponseCapture {
 public:
  // stream: the upstream answers with SSE. limit: bodies larger than this are not kept.
  ResponseCapture(bool stream, size_t limit);

  void append(std::string_view bytes);
  // The images JSON body to store, when the response was 200 and complete and is cacheable.
  std::optional<std::string> cacheableBody(int status) const;
  // The raw upstream body (JSON mode only; empty once the limit was exceeded).
  const std::string& raw() const { return body_; }
  // The body passed the limit and is not kept (JSON: the raw copy; SSE: the completed events).
  bool overflowed() const { return overflowed_ || sse_.overflowed(); }

 private:
  bool stream_;
  size_t limit_;
  bool overflowed_ = false;
  std::string body_;
  SseCapture sse_;
};

}  // namespace arkroute
