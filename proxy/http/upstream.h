// The provider-facing HTTP/1.1 client: a keep-alive connection pool per upstream per worker, plain
// TCP or TLS (OpenSSL: chain verified, hostname checked, SNI sent), asynchronous DNS (evdns),
// connect / first-byte / total timeouts, and streaming of response bodies with pause/resume for
// backpressure. A connection goes back to the pool only when nothing is wrong with it (the reject
// list: errored, timed out, closed by peer, unread bytes, response not complete, "Connection:
// close", cancelled mid-response).
#pragma once

#include <event2/dns.h>
#include <event2/event.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "proxy/http/headers.h"
#include "proxy/thread_shard.h"

struct evbuffer;
typedef struct ssl_ctx_st SSL_CTX;

namespace arkroute::http {

struct UpstreamEndpoint {
  std::string name;  // the upstream's config name, used in error messages
  bool tls = false;
  std::string host;  // DNS name or IP literal; also SNI and the name the certificate must match
  uint16_t port = 0;
  SSL_CTX* ssl_ctx = nullptr;  // required when tls; owned by the caller, outlives the pool
};

// Connection totals shared by every pool of one upstream (all workers, all config generations),
// for metrics: pools add to them on their own threads (each in its own cell), any thread may read
// them.
struct ConnectionCounters {
  ShardedTotal<uint64_t> opened;
  ShardedTotal<uint64_t> reused;  // requests sent on an already-open keep-alive connection
};

struct PoolOptions {
  int max_connections = 64;  // open connections (busy + idle); more requests wait in FIFO order
  std::chrono::milliseconds connect_timeout{10'000};  // TCP + TLS handshake (+ DNS)
  std::chrono::milliseconds first_byte_timeout{600'000};
  std::chrono::milliseconds total_timeout{600'000};  // includes time waiting for a connection
  std::chrono::milliseconds idle_timeout{60'000};
  // Bytes read (decrypted, over TLS) per event at most, and written per system call: a large
  // answer goes in slices so one connection does not hold the loop, and in few of them
  // (libevent's defaults, 4 KiB and 16 KiB, would take hundreds of iterations per 1.5 MB image).
  size_t max_single_io = 256 * 1024;
  std::shared_ptr<ConnectionCounters> counters;  // optional: opened/reused are also counted here
};

struct OutgoingRequest {
  std::string method = "POST";
  std::string path;  // full path incl. base path and query: "/v1/images/generations"
  Headers headers;   // the pool sets Host, Content-Length and Connection: keep-alive itself
  std::string body;
  // Instead of body (when body is empty): bytes owned elsewhere, such as a client's upload of
  // tens of MB forwarded as it came, written by reference and kept alive by body_owner meanwhile.
  std::string_view borrowed_body;
  std::shared_ptr<const void> body_owner;

  std::string_view bodyView() const { return body.empty() ? borrowed_body : body; }
};

struct UpstreamError {
  // kHandler: the response handler itself threw (see UpstreamResponseHandler); message is what().
  enum class Kind { kDns, kConnect, kTls, kTimeout, kReset, kProtocol, kCancelled, kHandler };
  Kind kind;
  std::string message;         // human-readable reason: "connection refused", "certificate verify
                               // failed: hostname mismatch", "timed out waiting for first byte"
  bool head_received = false;  // true when the failure happened after onUpstreamHead
  // The provider bills this request although it failed here: an asynchronous task (Kling) that
  // exists and goes on, whose result the gateway could not fetch in time. Charged at the estimate.
  bool provider_billed = false;
  // The provider had the whole request and had not begun to answer when the call failed (e.g. a
  // first-byte timeout): it may well bill what nobody receives.
  bool awaited_answer = false;
};
std::string_view toString(UpstreamError::Kind kind);

// Implemented by whoever sends a request. Callbacks arrive on the pool's loop; after
// onUpstreamComplete or onUpstreamError nothing more is called. A callback that throws is a bug
// in the handler, and it fails this call alone: the connection closes (never reused), and the
// handler gets onUpstreamError with kind kHandler and the exception's what() as the message, once
// (also after a throwing onUpstreamComplete, when the call still exists). An exception that no
// callback is left to receive (from onUpstreamError, or after the handler destroyed its call) is
// written to stderr.
class UpstreamResponseHandler {
 public:
  virtual ~UpstreamResponseHandler() = default;
  virtual void onUpstreamHead(int status, const Headers& headers) = 0;
  // De-chunked body bytes as they arrive. The handler must drain (move out) all of data.
  virtual void onUpstreamBody(evbuffer* data) = 0;
  virtual void onUpstreamComplete() = 0;
  virtual void onUpstreamError(const UpstreamError& error) = 0;
};

// A request in flight. Destroying it (or cancel()) before completion abandons the request: the
// connection is closed, never reused, and no more callbacks arrive.
class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  virtual void pauseReading() = 0;  // stop reading the response from the socket (backpressure)
  virtual void resumeReading() = 0;
  virtual void cancel() = 0;
  virtual bool reusedConnection() const = 0;  // true when it ran on a pooled keep-alive connection
  // True while the provider has the whole request and has not begun to answer: it may be
  // generating (and billing) what nobody will see if the call is abandoned now. False before the
  // request is sent, and once a response head has come.
  virtual bool awaitingAnswer() const = 0;
};

// One pool per upstream per worker thread. Not thread-safe.
class UpstreamPool {
 public:
  struct Stats {
    uint64_t connections_opened = 0;
    uint64_t connections_reused = 0;  // requests sent on an already-open connection
    uint64_t idle = 0;                // connections idle in the pool now
    uint64_t busy = 0;                // connections carrying a request now
    uint64_t waiting = 0;             // requests queued for a connection now
  };

  UpstreamPool(event_base* base, evdns_base* dns, UpstreamEndpoint endpoint, PoolOptions options);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Starts a request (now, or when a connection frees up). handler must outlive the returned call
  // or the call must be destroyed first.
  std::unique_ptr<UpstreamCall> start(OutgoingRequest request, UpstreamResponseHandler* handler);
  Stats stats() const;
  const UpstreamEndpoint& endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Builds a client SSL_CTX: TLS 1.2+, peer verification on, trust = ca_file when non-empty, else
// the system default store. Returns nullptr and sets *error on failure. Free with SSL_CTX_free.
SSL_CTX* createClientTlsContext(const std::string& ca_file, bool verify, std::string* error);

}  // namespace arkroute::http
