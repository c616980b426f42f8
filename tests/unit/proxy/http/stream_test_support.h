// Shared by the SocketStream tests (plain and TLS): a handler that records its callbacks, running
// an event loop until a condition holds, and a buffer's contents as a string.
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>

#include <chrono>
#include <functional>
#include <string>

#include "proxy/http/socket_stream.h"

namespace arkroute::http {

struct StreamRecorder : SocketStream::Handler {
  int reads = 0;
  int written = 0;
  short events = 0;
  int reads_at_first_event = -1;  // how many reads the handler was told of before the first event
  std::function<void()> on_read;
  void onStreamRead() override {
    ++reads;
    if (on_read) on_read();
  }
  void onStreamWritten() override { ++written; }
  void onStreamEvent(short what) override {
    if (events == 0) reads_at_first_event = reads;
    events |= what;
  }
};

// Runs base until done() or the deadline, calling between() after each pass.
inline bool runLoopUntil(event_base* base, const std::function<bool()>& done,
                         std::chrono::milliseconds deadline,
                         const std::function<void()>& between = {}) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!done() && std::chrono::steady_clock::now() < until) {
    event_base_loop(base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
    if (between) between();
  }
  return done();
}

inline std::string contentsOf(evbuffer* buffer) {
  std::string text(evbuffer_get_length(buffer), '\0');
  evbuffer_copyout(buffer, text.data(), text.size());
  return text;
}

}  // namespace arkroute::http
