// One provider connection: connect (DNS, TCP, TLS with verification) under the connect timeout,
// write requests, feed responses through the parser to the call's handler, report failures with
// their real reason, and apply the reject list before going back to the pool.
#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "proxy/http/error_line.h"
#include "proxy/http/tls_client.h"
#include "proxy/http/upstream_handler_failure.h"
#include "proxy/http/upstream_internal.h"

namespace arkroute::http {

namespace {

bool isConnectErrno(int error) {
  return error != 0 && error != EAGAIN && error != EINPROGRESS && error != EINTR;
}

std::string lowercaseFirst(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// A TLS record starts with its content type (0x15 alert, 0x16 handshake) and major version 3: what
// a TLS server sends back to a plain-text request.
bool startsWithTlsRecord(evbuffer* input) {
  unsigned char head[2];
  return evbuffer_copyout(input, head, sizeof head) == 2 && (head[0] == 0x15 || head[0] == 0x16) &&
         head[1] == 0x03;
}

}  // namespace

UpstreamConnection::UpstreamConnection(PoolCore& pool)
    : pool_(pool), timer_(pool.base(), &UpstreamConnection::onTimer, this) {
  deferred_ = event_new(pool_.base(), -1, 0, &UpstreamConnection::onDeferred, this);
  input_ = evbuffer_new();
  body_ = evbuffer_new();
}

UpstreamConnection::~UpstreamConnection() {
  if (bev_) bufferevent_free(bev_);
  event_free(deferred_);
  evbuffer_free(input_);
  evbuffer_free(body_);
}

std::string UpstreamConnection::hostPort() const {
  return pool_.endpoint().host + ":" + std::to_string(pool_.endpoint().port);
}

bool UpstreamConnection::tcpConnected() const {
  if (connected_ || stream_) return true;
  evutil_socket_t fd = bev_ ? bufferevent_getfd(bev_) : -1;
  sockaddr_storage peer;
  socklen_t length = sizeof peer;
  return fd >= 0 && getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0;
}

bool UpstreamConnection::createBufferevent() {
  const UpstreamEndpoint& endpoint = pool_.endpoint();
  if (endpoint.tls) {
    SSL* ssl = endpoint.ssl_ctx ? newUpstreamSsl(endpoint.ssl_ctx, endpoint.host) : nullptr;
    if (!ssl) {
      connect_error_kind_ = UpstreamError::Kind::kTls;
      connect_error_ = "cannot set up TLS for " + endpoint.host;
      return false;
    }
    pool_.tlsSessions().attach(ssl);
    ssl_.reset(ssl);
  }
  bev_ = bufferevent_socket_new(pool_.base(), -1, BEV_OPT_CLOSE_ON_FREE);
  return bev_ != nullptr;
}

void UpstreamConnection::connect(CallImpl* call) {
  call_ = call;
  pool_.countOpened();
  ++in_sync_section_;  // numeric hosts resolve synchronously: keep failures off this stack
  connect_error_ = "cannot create a connection to " + hostPort();
  if (!createBufferevent()) {
    deferEvents(BEV_EVENT_ERROR);
  } else {
    bufferevent_setcb(bev_, nullptr, nullptr, &UpstreamConnection::onEvent, this);
    bufferevent_enable(bev_, EV_READ | EV_WRITE);
    timer_.arm(pool_.options().connect_timeout);
    if (bufferevent_socket_connect_hostname(bev_, pool_.dns(), AF_UNSPEC,
                                            pool_.endpoint().host.c_str(),
                                            pool_.endpoint().port) != 0) {
      deferEvents(BEV_EVENT_ERROR);
    }
  }
  --in_sync_section_;
}

void UpstreamConnection::send(CallImpl* call) {
  call_ = call;
  timer_.disarm();
  parser_.reset(call->headRequest());
  evbuffer_drain(input_, evbuffer_get_length(input_));
  evbuffer_drain(body_, evbuffer_get_length(body_));
  head_delivered_ = false;
  peer_closed_ = false;
  closed_in_order_ = false;
  paused_ = call->paused();
  if (paused_) setReading(false);
  awaiting_flush_ = true;
  call->writeRequest(stream_->output());
  stream_->flushSoon();  // written at the end of this batch of events, never from inside send()
}

void UpstreamConnection::setReading(bool on) {
  if (!stream_) return;
  if (on) {
    stream_->enableRead();
  } else {
    stream_->disableRead();
  }
}

// The TCP connect succeeded: the socket leaves the bufferevent (which does not close it once its
// fd is unset) for a SocketStream, which starts the TLS handshake on an HTTPS connection. Nothing
// has been read or written on it yet.
void UpstreamConnection::onTcpConnected() {
  evutil_socket_t fd = bufferevent_getfd(bev_);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bufferevent_setfd(bev_, -1);
  bufferevent_free(bev_);
  bev_ = nullptr;
  SocketStream::Handler& handler = *this;
  stream_ = std::make_unique<SocketStream>(pool_.base(), fd, handler, ssl_.release());
  stream_->setReadLimits(0, pool_.options().max_single_io);
  stream_->setMaxSingleWrite(pool_.options().max_single_io);
  if (!stream_->tls()) onConnected();  // else when the handshake is done
}

void UpstreamConnection::onConnected() {
  connected_ = true;
  timer_.disarm();
  if (call_) send(call_);
}

void UpstreamConnection::recordConnectFailure(int socket_error) {
  const UpstreamEndpoint& endpoint = pool_.endpoint();
  if (int dns_error = bev_ ? bufferevent_socket_get_dns_error(bev_) : 0) {
    connect_error_kind_ = UpstreamError::Kind::kDns;
    connect_error_ =
        "DNS lookup failed for " + endpoint.host + ": " + evutil_gai_strerror(dns_error);
    return;
  }
  std::string tls_reason = stream_ && stream_->tls() ? stream_->tls()->failure() : "";
  if (!tls_reason.empty()) {
    connect_error_kind_ = UpstreamError::Kind::kTls;
    connect_error_ = tls_reason;
  } else if (isConnectErrno(socket_error)) {
    connect_error_kind_ = UpstreamError::Kind::kConnect;
    connect_error_ = "connect to " + hostPort() +
                     " failed: " + lowercaseFirst(evutil_socket_error_to_string(socket_error));
  } else if (endpoint.tls) {
    connect_error_kind_ = UpstreamError::Kind::kTls;
    connect_error_ = "TLS handshake with " + hostPort() + " failed: connection closed by peer";
  } else {
    connect_error_kind_ = UpstreamError::Kind::kConnect;
    connect_error_ = "connect to " + hostPort() + " failed: connection closed by peer";
  }
}

void UpstreamConnection::onEvent(bufferevent*, short what, void* arg) {
  static_cast<UpstreamConnection*>(arg)->onStreamEvent(what);
}

void UpstreamConnection::onStreamEvent(short what) {
  int socket_error = EVUTIL_SOCKET_ERROR();  // libevent sets it for connect errors; read it first
  if (closing_) return;
  if (!connected_ && !(what & BEV_EVENT_CONNECTED)) recordConnectFailure(socket_error);
  if (in_sync_section_ > 0) {
    deferEvents(what);
    return;
  }
  handleEvent(what);
}

void UpstreamConnection::deferEvents(short what) {
  deferred_events_ |= what;
  event_active(deferred_, EV_TIMEOUT, 0);
}

void UpstreamConnection::handleEvent(short what) {
  if (what & BEV_EVENT_CONNECTED) {
    bev_ ? onTcpConnected() : onConnected();
  } else if (!connected_) {
    fail(connect_error_kind_, connect_error_);
  } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (!call_) {
      closeSoon();  // closed by the peer while idle
      return;
    }
    peer_closed_ = true;
    closed_in_order_ = endedInOrder(what);
    if (!paused_) pump();  // else after resumeReading() has delivered what is buffered
  }
}

bool UpstreamConnection::endedInOrder(short what) const {
  if (!(what & BEV_EVENT_EOF) || (what & BEV_EVENT_ERROR)) return false;
  const SocketTls* tls = stream_ ? stream_->tls() : nullptr;
  return tls == nullptr || tls->closedWithNotify();
}

void UpstreamConnection::onStreamRead() {
  if (closing_) return;
  if (!call_) {
    closeSoon();  // bytes on an idle connection: the peer is closing it or misbehaving
  } else if (!paused_) {
    pump();
  }
}

void UpstreamConnection::onStreamWritten() {
  if (closing_ || !call_ || !awaiting_flush_) return;
  if (stream_->pendingOutput() > 0) return;
  awaiting_flush_ = false;
  call_->requestFlushed();
}

// Moves what the transport read into input_ (a chain move, no copy).
evbuffer* UpstreamConnection::gatherInput() {
  evbuffer_add_buffer(input_, stream_->input());
  return input_;
}

// Bytes read but not parsed, or bytes that may still be waiting: the last read stopped at its
// budget, or OpenSSL holds records (or part of one) not decrypted yet.
bool UpstreamConnection::unreadBytes() const {
  return evbuffer_get_length(input_) > 0 || evbuffer_get_length(stream_->input()) > 0 ||
         stream_->mayHoldUnreadInput();
}

// Parses what arrived, hands it to the handler (once per read), then completes the response or
// reacts to the peer having closed the connection.
void UpstreamConnection::pump() {
  CallImpl* call = call_;
  evbuffer* input = gatherInput();
  if (!parser_.complete()) {
    if (!parser_.parse(input, body_)) {
      std::string reason = "invalid HTTP response: " + parser_.error();
      if (!parser_.started() && startsWithTlsRecord(input)) {
        reason += " (the server answered in TLS: for an HTTPS upstream, use an https:// base_url)";
      }
      fail(UpstreamError::Kind::kProtocol, reason);
      return;
    }
    if (closed_in_order_ && evbuffer_get_length(input) == 0) parser_.finishAtEof();
  }
  if (!deliver(call)) return;
  if (parser_.complete()) {
    finishResponse(call);
  } else if (peer_closed_) {
    onClosedMidResponse(call);
  }
}

// Returns false when the handler paused, cancelled or destroyed the call, or threw.
bool UpstreamConnection::deliver(CallImpl* call) {
  UpstreamResponseHandler* handler = call->handler();
  if (parser_.headComplete() && !head_delivered_) {
    head_delivered_ = true;
    call->headArrived();
    if (!handOver(call, [&] { handler->onUpstreamHead(parser_.status(), parser_.headers()); })) {
      return false;
    }
  }
  if (paused_) return false;
  if (evbuffer_get_length(body_) > 0) {
    if (!handOver(call, [&] { handler->onUpstreamBody(body_); })) return false;
    evbuffer_drain(body_, evbuffer_get_length(body_));  // the handler should have moved it all
  }
  return !paused_;
}

// Runs one handler callback for call; false when the call is no longer this connection's after
// it. A callback that throws fails the call with kHandler (the rest of the answer is for nobody,
// so the connection closes), or, when the handler destroyed or cancelled its call first, goes to
// stderr.
template <class Callback>
bool UpstreamConnection::handOver(CallImpl* call, Callback&& callback) {
  try {
    callback();
  } catch (...) {
    std::string what = exceptionText(std::current_exception());
    if (call_ == call) {
      fail(UpstreamError::Kind::kHandler, std::move(what));
    } else {
      reportHandlerFailure(pool_.endpoint().name, "after its call ended", what);
    }
    return false;
  }
  return call_ == call;
}

void UpstreamConnection::finishResponse(CallImpl* call) {
  // Bytes after the answer belong to no request: a connection that has (or may have) some must
  // not carry the next request, which would take them for its answer.
  bool reusable =
      parser_.keepAlive() && !peer_closed_ && !unreadBytes() && stream_->pendingOutput() == 0;
  call_ = nullptr;
  if (reusable) {
    pool_.release(this);
  } else {
    closeSoon();
  }
  call->complete();
}

void UpstreamConnection::onClosedMidResponse(CallImpl* call) {
  if (!parser_.started() && call->reusedConnection() && !call->retried() && !call->flushed()) {
    // The stale keep-alive race: the provider closed this pooled connection (idle timeout) before
    // the request had gone out whole on it. A request it never read whole it cannot have
    // processed, so the pool sends it again, once, on a fresh connection; the handler never sees
    // the EOF. A request that went out whole may have been read, and paid for: that close fails
    // the call, and the caller's own retry policy (max_retries) decides whether to send it again.
    call_ = nullptr;
    call->detachForRetry();
    closeSoon(call);
    return;
  }
  if (!parser_.started()) {
    fail(UpstreamError::Kind::kReset, "connection closed before response");
  } else if (!head_delivered_) {
    fail(UpstreamError::Kind::kReset, "connection closed in the middle of the response head");
  } else if (!closed_in_order_ && pool_.endpoint().tls) {
    fail(UpstreamError::Kind::kReset,
         "connection closed without TLS close_notify before the response body was known complete");
  } else if (!closed_in_order_) {
    fail(UpstreamError::Kind::kReset, "connection reset before the response body was complete");
  } else {
    fail(UpstreamError::Kind::kReset, "connection closed before the response body was complete");
  }
}

void UpstreamConnection::fail(UpstreamError::Kind kind, std::string message) {
  CallImpl* call = call_;
  call_ = nullptr;
  bool head_received = head_delivered_;
  closeSoon();
  if (call) call->fail(UpstreamError{kind, std::move(message), head_received});
}

void UpstreamConnection::failCall(UpstreamError::Kind kind, std::string message) {
  fail(kind, std::move(message));
}

void UpstreamConnection::abandonCall() {
  call_ = nullptr;
  closeSoon();
}

void UpstreamConnection::makeIdle() {
  call_ = nullptr;
  paused_ = false;
  setReading(true);  // an EOF or stray byte while idle closes the connection
  timer_.arm(pool_.options().idle_timeout);
}

void UpstreamConnection::pauseReading() {
  paused_ = true;
  if (!closing_) setReading(false);
}

void UpstreamConnection::resumeReading() {
  if (!paused_ || closing_) return;
  paused_ = false;
  setReading(true);
  // Bytes already in the input buffer (or a parsed body held back) raise no new read event.
  if (connected_ && call_) event_active(deferred_, EV_TIMEOUT, 0);
}

void UpstreamConnection::closeSoon(CallImpl* retry) {
  if (closing_) return;
  closing_ = true;
  timer_.disarm();
  // Closes the socket now (libevent defers a bufferevent's free itself if one of its callbacks is
  // running; a SocketStream calls back last, so it may go inside its own callback); the object
  // goes from the deferred event, outside every callback stack.
  stream_.reset();
  if (bev_) {
    bufferevent_free(bev_);
    bev_ = nullptr;
  }
  event_active(deferred_, EV_TIMEOUT, 0);
  pool_.connectionClosed(this, retry);
}

void UpstreamConnection::onDeferred(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<UpstreamConnection*>(arg);
  if (self->closing_) {
    self->pool_.destroy(self);
    return;
  }
  if (short what = self->deferred_events_) {
    self->deferred_events_ = 0;
    self->handleEvent(what);
    if (self->closing_) return;
  }
  if (self->call_ && self->connected_ && !self->paused_) self->pump();
}

void UpstreamConnection::onTimer(void* arg) {
  auto* self = static_cast<UpstreamConnection*>(arg);
  if (self->closing_) return;
  if (self->connected_) {
    self->closeSoon();  // idle timeout
    return;
  }
  std::string stage = self->tcpConnected() ? "TLS handshake with " : "connect to ";
  self->fail(UpstreamError::Kind::kTimeout,
             stage + self->hostPort() + " timed out after " +
                 std::to_string(self->pool_.options().connect_timeout.count()) + " ms");
}

}  // namespace arkroute::http
