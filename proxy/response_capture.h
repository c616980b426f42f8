// Keeps a copy of an upstream response as it streams to the client, so a complete, successful
// generation can be stored in the cache: raw JSON bodies are kept whole (up to a limit), SSE
// streams through SseCapture. It decides nothing about HTTP; the handler tells it what arrived.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/sse_capture.h"

namespace arkroute {

class ResponseCapture {
 public:
  // stream: the upstream answers with SSE, a generation's or an edit's events. limit: bodies
  // larger than this are not kept.
  ResponseCapture(bool stream, size_t limit, ImageEvents events = ImageEvents::kGeneration);

  // The provider answered with a JSON body, not the stream asked for (one that ignores `stream`):
  // it is kept as JSON. Called before any body.
  void answeredWithJson() { stream_ = false; }
  // The body's announced length: room for it is made once (JSON mode, within the limit).
  void expectLength(uint64_t length);
  void append(std::string_view bytes);

  struct Cacheable {
    std::string json;  // the images JSON body to store
    size_t images;     // how many images it holds
  };
  // When the response was 200, complete and cacheable: its images JSON, checked with one parse
  // and, in JSON mode, moved out of the capture (raw() is empty afterwards).
  std::optional<Cacheable> takeCacheable(int status);
  // The raw upstream body (JSON mode only; empty once the limit was exceeded or the body taken).
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
