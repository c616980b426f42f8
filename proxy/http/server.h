// The client-facing HTTP/1.1 server: accepts connections on a listening socket bound to an
// event_base (one per worker thread), parses requests with http-parser, enforces size and time
// limits itself (so 413/431/408 carry OpenAI-style JSON bodies), and hands each complete request
// to a handler as an Exchange. Responses may be sent whole or streamed (chunked or with a known
// Content-Length) with backpressure. Keep-alive and pipelined requests are served in order.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/http/headers.h"

struct evbuffer;
struct evconnlistener;

namespace arkroute::http {

class ServerConnection;

struct ServerLimits {
  size_t max_header_bytes = 65536;                 // request line + headers; above → 431
  size_t max_body_bytes = 52428800;                // Content-Length or chunked total above → 413
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds request_timeout{30'000};  // whole request must arrive in this → 408
  std::chrono::milliseconds write_timeout{120'000};   // no write progress for this long → close
  size_t output_high_watermark = 1 << 20;             // Exchange::writeWouldBlock() above this
  size_t output_low_watermark = 256 << 10;  // onDrained fires when output falls below this
};

// One request and its response. Shared by the connection and the handler; outlives either.
// All methods must be called on the connection's event loop thread.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  virtual ~Exchange() = default;

  virtual const Request& request() const = 0;
  virtual event_base* base() const = 0;
  virtual const std::string& peerAddress() const = 0;  // "127.0.0.1:53422"

  // Sends a complete response. Adds Content-Length (and Connection: close when closing).
  virtual void respond(int status, const Headers& headers, std::string_view body) = 0;
  // respond() with a body that owner keeps alive: a socket client sends it without copying it
  // (owner is released once the bytes are written); other exchanges copy it.
  virtual void respondShared(int status, const Headers& headers, std::string_view body,
                             std::shared_ptr<const void> owner) {
    (void)owner;
    respond(status, headers, body);
  }

  // Streams a response: head now, then writeBody() any number of times, then endResponse().
  // content_length given → sent as Content-Length; nullopt → chunked (HTTP/1.1 clients) or
  // close-delimited (HTTP/1.0).
  virtual void startResponse(int status, const Headers& headers,
                             std::optional<uint64_t> content_length) = 0;
  virtual void writeBody(std::string_view data) = 0;
  virtual void writeBody(evbuffer* data) = 0;  // moves every byte out of data (no copy)
  virtual void endResponse() = 0;
  // Closes the connection at once (RST when possible) so that a streamed response that cannot be
  // completed is seen by the client as truncated, never as complete. What was queued goes out
  // first, as far as the socket takes it then.
  virtual void abort() = 0;

  virtual bool responseStarted() const = 0;
  virtual bool finished() const = 0;    // endResponse/respond/abort done
  virtual bool clientGone() const = 0;  // the client closed or errored; writes are dropped

  // Backpressure: true while more than output_high_watermark bytes wait to go to the client.
  virtual bool writeWouldBlock() const = 0;
  // Called once, on the loop, when buffered output falls below output_low_watermark (or at once
  // if it already is). Replaces any earlier callback.
  virtual void onDrained(std::function<void()> callback) = 0;
  // Called once if the client goes away before the response was fully written.
  virtual void onClientGone(std::function<void()> callback) = 0;
  // The images of this response are held by the cache under entry_id (served at
  // /v1/images/cache/<entry_id>-<index>). Only in-process callers use it (MCP's image URLs).
  virtual void noteCachedImages(std::string_view entry_id) { (void)entry_id; }
  // Whether noteCachedImages is read (an in-process caller): then it is called only once the
  // entry is written, so the links it makes resolve.
  virtual bool notesCachedImages() const { return false; }

  // What went to the client, for the log phase: the status sent (0: none yet) and the body bytes
  // handed to the connection (payload only: no head, no chunk framing, nothing for HEAD).
  int sentStatus() const { return sent_status_; }
  uint64_t sentBodyBytes() const { return sent_body_bytes_; }
  // The code of the error answered ("" for none), noted by whoever wrote it, for the log phase.
  void noteErrorCode(std::string_view code) { error_code_.assign(code); }
  const std::string& errorCode() const { return error_code_; }
  // Called once, on the loop, when the exchange ends: its response was completed or aborted
  // (finished() is then true), or the client went away first. Replaces any earlier callback.
  // Exchanges that are not socket clients (in-process) may end without calling it.
  void onEnded(std::function<void(const Exchange&)> callback) { on_ended_ = std::move(callback); }

 protected:
  void noteStatus(int status) { sent_status_ = status; }
  void noteBodyBytes(uint64_t bytes) { sent_body_bytes_ += bytes; }
  void notifyEnded() {
    if (ended_) return;
    ended_ = true;
    auto callback = std::move(on_ended_);
    on_ended_ = nullptr;
    if (callback) callback(*this);
  }

 private:
  int sent_status_ = 0;
  uint64_t sent_body_bytes_ = 0;
  std::string error_code_;
  bool ended_ = false;
  std::function<void(const Exchange&)> on_ended_;
};

using RequestHandler = std::function<void(std::shared_ptr<Exchange>)>;
// Builds the JSON body for errors the server itself produces (400 malformed, 408, 413, 431).
// Returns the body; the server adds Content-Type: application/json.
using ErrorBodyFn = std::function<std::string(int status, std::string_view message)>;

// Accepts connections on one event_base. Not thread-safe: one per worker thread.
class HttpServer {
 public:
  HttpServer(event_base* base, ServerLimits limits, RequestHandler handler, ErrorBodyFn error_body);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (SO_REUSEADDR, and SO_REUSEPORT when reuse_port) on host:port; port 0
  // picks an ephemeral port. Returns false and sets *error on failure.
  bool listen(const std::string& host, uint16_t port, bool reuse_port, std::string* error);
  // False, with *error, when a socket already listens on host:port (port != 0). Workers share
  // their port with SO_REUSEPORT, and so would a second gateway started on it: it would bind too
  // and silently take a share of the connections. A probe that does not ask to share tells.
  static bool portIsFree(const std::string& host, uint16_t port, std::string* error);
  uint16_t boundPort() const;

  // Called, on the loop, for each request the server answers itself with an error (400 malformed,
  // 408, 413, 431, 501) before any handler sees it: request holds what was parsed so far,
  // body_bytes the size of the error body sent. Returns the request id the answer carries as
  // x-request-id ("": none). Set before the loop runs.
  using RejectHook =
      std::function<std::string(int status, const Request& request, uint64_t body_bytes)>;
  void onRejected(RejectHook hook);

  // When accept() fails for want of resources (EMFILE/ENFILE: the open-files limit; ENOBUFS,
  // ENOMEM), the listening socket stays readable, so accepting again at once would spin a core.
  // The server stops accepting for this long instead (clients wait in the listen backlog), counts
  // the pause in *pauses when set (shared by every worker), and says so on stderr at most every
  // 10 s.
  static constexpr std::chrono::milliseconds kAcceptPause{250};
  void countAcceptPausesIn(std::shared_ptr<std::atomic<uint64_t>> pauses);

  // Stops accepting; existing connections continue. Idle keep-alive connections are closed.
  void stopAccepting();
  size_t openConnections() const;
  size_t activeExchanges() const;  // requests whose response is not finished

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arkroute::http
