// One provider connection: connect (DNS, TCP, TLS with verification), write requests, parse
// responses, report errors with their real reason, and decide whether it may be reused.
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include "proxy/http/upstream_internal.h"

namespace arkroute::http {

class UpstreamParserCallbacks {
 public:
  static UpstreamConnection* self(http_parser* p) {
    return static_cast<UpstreamConnection*>(p->data);
  }
  static int onHeaderField(http_parser* p, const char* at, size_t n) {
    UpstreamConnection* c = self(p);
    if (c->last_was_value_) c->field_.clear();
    c->last_was_value_ = false;
    c->field_.append(at, n);
    return 0;
  }
  static int onHeaderValue(http_parser* p, const char* at, size_t n) {
    UpstreamConnection* c = self(p);
    if (!c->last_was_value_) c->headers_.add(c->field_, "");
    c->last_was_value_ = true;
    c->headers_.appendToLastValue(std::string_view(at, n));
    return 0;
  }
  static int onHeadersComplete(http_parser* p) {
    UpstreamConnection* c = self(p);
    if (p->status_code >= 100 && p->status_code < 200) {
      c->skip_interim_ = true;  // 100 Continue and friends: wait for the real response
      return 0;
    }
    c->status_ = p->status_code;
    c->head_ready_ = true;
    return 0;
  }
  static int onBody(http_parser* p, const char* at, size_t n) {
    evbuffer_add(self(p)->body_, at, n);
    return 0;
  }
  static int onMessageComplete(http_parser* p) {
    UpstreamConnection* c = self(p);
    if (c->skip_interim_) {
      c->skip_interim_ = false;
      c->headers_ = Headers();
      c->field_.clear();
      c->last_was_value_ = false;
      return 0;
    }
    c->complete_ = true;
    c->keep_alive_ = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
  }
  static const http_parser_settings& settings() {
    static const http_parser_settings kSettings = [] {
      http_parser_settings s{};
      s.on_header_field = onHeaderField;
      s.on_header_value = onHeaderValue;
      s.on_headers_complete = onHeadersComplete;
      s.on_body = onBody;
      s.on_message_complete = onMessageComplete;
      return s;
    }();
    return kSettings;
  }
};

namespace {

bool isIpLiteral(const std::string& host) {
  in6_addr addr;
  return inet_pton(AF_INET, host.c_str(), &addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

SSL* newClientSsl(const UpstreamEndpoint& endpoint) {
  SSL* ssl = SSL_new(endpoint.ssl_ctx);
  if (!ssl) return nullptr;
  if (isIpLiteral(endpoint.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, endpoint.host.c_str());
    SSL_set1_host(ssl, endpoint.host.c_str());
  }
  return ssl;
}

}  // namespace

UpstreamConnection::UpstreamConnection(PoolCore& pool, bool) : pool_(pool) {
  deferred_ = event_new(pool_.base, -1, 0, &UpstreamConnection::onDeferred, this);
  idle_timer_ = evtimer_new(pool_.base, &UpstreamConnection::onIdleTimeout, this);
  body_ = evbuffer_new();
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
}

UpstreamConnection::~UpstreamConnection() {
  if (bev_) bufferevent_free(bev_);
  event_free(deferred_);
  event_free(idle_timer_);
  evbuffer_free(body_);
}

void UpstreamConnection::connect(CallImpl* call) {
  call_ = call;
  if (pool_.endpoint.tls) {
    SSL* ssl = newClientSsl(pool_.endpoint);
    bev_ = bufferevent_openssl_socket_new(pool_.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                          BEV_OPT_CLOSE_ON_FREE);
    if (bev_) bufferevent_openssl_set_allow_dirty_shutdown(bev_, 1);
  } else {
    bev_ = bufferevent_socket_new(pool_.base, -1, BEV_OPT_CLOSE_ON_FREE);
  }
  bufferevent_setcb(bev_, &UpstreamConnection::onRead, nullptr, &UpstreamConnection::onEvent, this);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  ++pool_.stats.connections_opened;
  auto ms = pool_.options.connect_timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  evtimer_add(idle_timer_, &tv);  // doubles as the connect timer until connected
  if (bufferevent_socket_connect_hostname(bev_, pool_.dns, AF_UNSPEC, pool_.endpoint.host.c_str(),
                                          pool_.endpoint.port) != 0) {
    connect_failed_ = true;
    event_active(deferred_, 0, 0);
  }
}

void UpstreamConnection::send(CallImpl* call) {
  call_ = call;
  evtimer_del(idle_timer_);
  resetResponseState();
  ++requests_sent_;
  bufferevent_write(bev_, call->wire().data(), call->wire().size());
  call->requestWritten();
}

void UpstreamConnection::resetResponseState() {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  status_ = 0;
  headers_ = Headers();
  field_.clear();
  last_was_value_ = head_ready_ = head_delivered_ = complete_ = keep_alive_ = false;
  skip_interim_ = false;
  response_bytes_ = 0;
  evbuffer_drain(body_, evbuffer_get_length(body_));
}

void UpstreamConnection::onConnected() {
  connected_ = true;
  evtimer_del(idle_timer_);
  int one = 1;
  setsockopt(bufferevent_getfd(bev_), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (call_) {
    send(call_);
  } else {
    pool_.release(this, true);
  }
}

std::string UpstreamConnection::describeConnectError() const {
  int dns_error = bufferevent_socket_get_dns_error(bev_);
  if (dns_error) return evutil_gai_strerror(dns_error);
  if (pool_.endpoint.tls) {
    SSL* ssl = bufferevent_openssl_get_ssl(bev_);
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verify != X509_V_OK) {
      return std::string("TLS certificate verify failed: ") + X509_verify_cert_error_string(verify);
    }
    unsigned long tls_error = bufferevent_get_openssl_error(bev_);
    if (tls_error) {
      char text[256];
      ERR_error_string_n(tls_error, text, sizeof text);
      return std::string("TLS handshake failed: ") + text;
    }
  }
  int err = EVUTIL_SOCKET_ERROR();
  return err ? std::string(std::strerror(err)) : "connection closed during connect";
}

void UpstreamConnection::onConnectFailed(short what) {
  UpstreamError::Kind kind = UpstreamError::Kind::kConnect;
  std::string reason = describeConnectError();
  if (bufferevent_socket_get_dns_error(bev_)) {
    kind = UpstreamError::Kind::kDns;
    reason = "DNS lookup failed for " + pool_.endpoint.host + ": " + reason;
  } else if (reason.starts_with("TLS")) {
    kind = UpstreamError::Kind::kTls;
  } else {
    reason = "connect to " + pool_.endpoint.host + ":" + std::to_string(pool_.endpoint.port) +
             " failed: " + reason;
  }
  (void)what;
  fail(kind, reason);
}

void UpstreamConnection::onEvent(bufferevent*, short what, void* arg) {
  auto* self = static_cast<UpstreamConnection*>(arg);
  if (self->closing_) return;
  if (what & BEV_EVENT_CONNECTED) {
    self->onConnected();
    return;
  }
  if (!self->connected_) {
    self->onConnectFailed(what);
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) self->onPeerClosed();
}

void UpstreamConnection::onRead(bufferevent*, void* arg) {
  static_cast<UpstreamConnection*>(arg)->readResponse();
}

// libevent 2.1 reads at most 4 KiB per wakeup (EVBUFFER_MAX_READ): a 1.5 MB image would take
// ~370 loop iterations. For plain TCP, read what the socket already holds straight into the
// bufferevent's input buffer (bounded per wakeup). EOF and errors are left for the bufferevent to
// see on its next read.
void UpstreamConnection::drainSocket() {
  if (pool_.endpoint.tls || paused_) return;
  evbuffer* input = bufferevent_get_input(bev_);
  evutil_socket_t fd = bufferevent_getfd(bev_);
  evbuffer_unfreeze(input, 0);  // the bufferevent keeps its input's end frozen between reads
  readInto(input, fd);
  evbuffer_freeze(input, 0);
}

void UpstreamConnection::readInto(evbuffer* input, evutil_socket_t fd) {
  for (int round = 0; round < 16; ++round) {  // at most 16 × 64 KiB per wakeup
    evbuffer_iovec space[2];
    int n = evbuffer_reserve_space(input, 64 * 1024, space, 2);
    if (n <= 0) return;
    ssize_t got = readv(fd, reinterpret_cast<iovec*>(space), n);
    if (got <= 0) {
      evbuffer_commit_space(input, space, 0);
      return;
    }
    size_t left = static_cast<size_t>(got);
    for (int i = 0; i < n; ++i) {
      space[i].iov_len = std::min(space[i].iov_len, left);
      left -= space[i].iov_len;
    }
    evbuffer_commit_space(input, space, n);
    if (static_cast<size_t>(got) < 64 * 1024) return;
  }
}

void UpstreamConnection::readResponse() {
  if (closing_) return;
  if (!call_) {  // bytes on an idle connection: the peer is closing it or misbehaving
    closeSoon();
    return;
  }
  drainSocket();
  evbuffer* input = bufferevent_get_input(bev_);
  while (evbuffer_get_length(input) > 0 && !complete_) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(input, -1, nullptr, &chunk, 1) < 1) break;
    size_t consumed = http_parser_execute(&parser_, &UpstreamParserCallbacks::settings(),
                                          static_cast<const char*>(chunk.iov_base), chunk.iov_len);
    evbuffer_drain(input, consumed);
    response_bytes_ += consumed;
    http_errno error = HTTP_PARSER_ERRNO(&parser_);
    if (error != HPE_OK && error != HPE_PAUSED) {
      fail(UpstreamError::Kind::kProtocol,
           std::string("invalid HTTP response: ") + http_errno_description(error));
      return;
    }
  }
  deliverParsed();
}

void UpstreamConnection::deliverParsed() {
  CallImpl* call = call_;
  if (!call) return;
  UpstreamResponseHandler* handler = call->handler();
  if (head_ready_ && !head_delivered_) {
    head_delivered_ = true;
    call->headArrived();
    handler->onUpstreamHead(status_, headers_);
    if (call_ != call) return;  // the handler cancelled the call
  }
  if (evbuffer_get_length(body_) > 0) {
    handler->onUpstreamBody(body_);
    if (call_ != call) return;
  }
  if (!complete_) return;
  bool reusable = keep_alive_ && evbuffer_get_length(bufferevent_get_input(bev_)) == 0;
  call_ = nullptr;
  call->finished();
  pool_.release(this, reusable);
  handler->onUpstreamComplete();
}

void UpstreamConnection::onPeerClosed() {
  if (!call_) {
    closeSoon();
    return;
  }
  http_parser_execute(&parser_, &UpstreamParserCallbacks::settings(), nullptr, 0);  // EOF
  if (complete_) {
    keep_alive_ = false;
    deliverParsed();
    return;
  }
  bool stale_keepalive = response_bytes_ == 0 && requests_sent_ > 1 && !call_->retried();
  if (stale_keepalive) {
    // The provider closed a pooled connection just as we reused it: nothing was processed, so
    // sending the request again on a fresh connection is safe. Done at most once per call.
    CallImpl* call = call_;
    call_ = nullptr;
    closeSoon();
    call->markRetried();
    pool_.retryOnFreshConnection(call);
    return;
  }
  CallImpl* call = call_;
  deliverParsed();
  if (call_ != call) return;
  fail(UpstreamError::Kind::kReset, head_delivered_
                                        ? "upstream closed the connection in the middle of the body"
                                        : "upstream closed the connection before responding");
}

void UpstreamConnection::fail(UpstreamError::Kind kind, std::string message) {
  CallImpl* call = call_;
  call_ = nullptr;
  closeSoon();
  if (!call) return;
  UpstreamError error{kind, std::move(message), head_delivered_};
  UpstreamResponseHandler* handler = call->handler();
  call->finished();
  handler->onUpstreamError(error);
}

void UpstreamConnection::detachCall() {
  call_ = nullptr;
  closeSoon();
}

void UpstreamConnection::pauseReading() {
  paused_ = true;
  if (bev_ && !closing_) bufferevent_disable(bev_, EV_READ);
}

void UpstreamConnection::resumeReading() {
  if (!paused_ || closing_) return;
  paused_ = false;
  bufferevent_enable(bev_, EV_READ);
  if (evbuffer_get_length(bufferevent_get_input(bev_)) > 0) event_active(deferred_, 0, 0);
}

void UpstreamConnection::makeIdle() {
  call_ = nullptr;
  paused_ = false;
  bufferevent_enable(bev_, EV_READ);
  auto ms = pool_.options.idle_timeout.count();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  evtimer_add(idle_timer_, &tv);
}

void UpstreamConnection::closeSoon() {
  if (closing_) return;
  closing_ = true;
  evtimer_del(idle_timer_);
  if (bev_) bufferevent_disable(bev_, EV_READ | EV_WRITE);
  pool_.connectionClosed(this);
  event_active(deferred_, 0, 0);
}

void UpstreamConnection::onDeferred(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<UpstreamConnection*>(arg);
  if (self->closing_) {
    self->pool_.destroy(self);
    return;
  }
  if (self->connect_failed_) {
    self->connect_failed_ = false;
    self->onConnectFailed(BEV_EVENT_ERROR);
    return;
  }
  self->readResponse();
}

void UpstreamConnection::onIdleTimeout(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<UpstreamConnection*>(arg);
  if (!self->connected_) {
    self->fail(UpstreamError::Kind::kTimeout,
               "connect to " + self->pool_.endpoint.host + ":" +
                   std::to_string(self->pool_.endpoint.port) + " timed out after " +
                   std::to_string(self->pool_.options.connect_timeout.count()) + " ms");
    return;
  }
  self->closeSoon();
}

}  // namespace arkroute::http
