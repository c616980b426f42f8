// Client connection: parsing within limits, dispatch, response framing, keep-alive, timeouts.
#include "proxy/http/server_connection.h"

#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdio>

#include "proxy/http/server_exchange.h"

namespace arkroute::http {

// http-parser callbacks, friends of ServerConnection.
class ServerParserCallbacks {
 public:
  static ServerConnection* self(http_parser* p) { return static_cast<ServerConnection*>(p->data); }

  static int onMessageBegin(http_parser* p) {
    ServerConnection* c = self(p);
    c->request_ = Request();
    c->header_field_.clear();
    c->last_was_value_ = false;
    c->headers_complete_ = false;
    return 0;
  }
  static int onUrl(http_parser* p, const char* at, size_t length) {
    self(p)->request_.target.append(at, length);
    return 0;
  }
  static int onHeaderField(http_parser* p, const char* at, size_t length) {
    ServerConnection* c = self(p);
    if (c->last_was_value_) c->header_field_.clear();
    c->last_was_value_ = false;
    c->header_field_.append(at, length);
    return 0;
  }
  static int onHeaderValue(http_parser* p, const char* at, size_t length) {
    ServerConnection* c = self(p);
    if (!c->last_was_value_) c->request_.headers.add(c->header_field_, "");
    c->last_was_value_ = true;
    c->request_.headers.appendToLastValue(std::string_view(at, length));
    return 0;
  }
  static int onHeadersComplete(http_parser* p);
  static int onBody(http_parser* p, const char* at, size_t length) {
    ServerConnection* c = self(p);
    if (c->request_.body.size() + length > c->shared_.limits.max_body_bytes) {
      c->error_status_ = 413;
      return -1;
    }
    c->request_.body.append(at, length);
    return 0;
  }
  static int onMessageComplete(http_parser* p) {
    ServerConnection* c = self(p);
    c->message_complete_ = true;
    c->keep_alive_ = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
  }
  static const http_parser_settings& settings();
};

int ServerParserCallbacks::onHeadersComplete(http_parser* p) {
  ServerConnection* c = self(p);
  c->headers_complete_ = true;
  Request& r = c->request_;
  r.method = http_method_str(static_cast<http_method>(p->method));
  r.version_minor = p->http_minor;
  size_t question = r.target.find('?');
  r.path = r.target.substr(0, question);
  r.query = question == std::string::npos ? "" : r.target.substr(question + 1);
  bool has_length = (p->flags & F_CONTENTLENGTH) != 0;
  if (has_length && p->content_length > c->shared_.limits.max_body_bytes) {
    c->error_status_ = 413;
    http_parser_pause(p, 1);
    return 0;
  }
  if (equalsIgnoreCase(r.headers.get("expect"), "100-continue") && p->http_minor >= 1) {
    bufferevent_write(c->bev_, "HTTP/1.1 100 Continue\r\n\r\n", 25);
  }
  return 0;
}

const http_parser_settings& ServerParserCallbacks::settings() {
  static const http_parser_settings kSettings = [] {
    http_parser_settings s{};
    s.on_message_begin = onMessageBegin;
    s.on_url = onUrl;
    s.on_header_field = onHeaderField;
    s.on_header_value = onHeaderValue;
    s.on_headers_complete = onHeadersComplete;
    s.on_body = onBody;
    s.on_message_complete = onMessageComplete;
    return s;
  }();
  return kSettings;
}

ServerConnection::ServerConnection(ServerShared& shared, evutil_socket_t fd, std::string peer)
    : shared_(shared), peer_(std::move(peer)) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  bev_ = bufferevent_socket_new(shared_.base, fd, BEV_OPT_CLOSE_ON_FREE);
  bufferevent_setcb(bev_, &ServerConnection::onRead, &ServerConnection::onWrite,
                    &ServerConnection::onEvent, this);
  bufferevent_setwatermark(bev_, EV_READ, 0, 256 * 1024);
  bufferevent_set_max_single_write(bev_, 256 * 1024);  // default 16 KiB: 90 writes per image
  auto write_timeout = shared_.limits.write_timeout;
  timeval tv{static_cast<time_t>(write_timeout.count() / 1000),
             static_cast<suseconds_t>((write_timeout.count() % 1000) * 1000)};
  bufferevent_set_timeouts(bev_, nullptr, &tv);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  timer_ = evtimer_new(shared_.base, &ServerConnection::onTimer, this);
  deferred_ = event_new(shared_.base, -1, 0, &ServerConnection::onDeferred, this);
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  ++shared_.open_connections;
  armTimer(shared_.limits.idle_timeout);
}

ServerConnection::~ServerConnection() {
  event_free(timer_);
  event_free(deferred_);
  if (bev_) bufferevent_free(bev_);
  --shared_.open_connections;
}

void ServerConnection::armTimer(std::chrono::milliseconds after) {
  timeval tv{static_cast<time_t>(after.count() / 1000),
             static_cast<suseconds_t>((after.count() % 1000) * 1000)};
  evtimer_add(timer_, &tv);
}

void ServerConnection::onRead(bufferevent*, void* arg) {
  static_cast<ServerConnection*>(arg)->processInput();
}

void ServerConnection::processInput() {
  while (!destroyed_ && !closing_ && !exchange_) {
    evbuffer* input = bufferevent_get_input(bev_);
    if (evbuffer_get_length(input) == 0) return;
    if (!in_request_) {
      in_request_ = true;
      head_bytes_ = 0;
      armTimer(shared_.limits.request_timeout);
    }
    if (!parseAvailable()) return;
    dispatch();
  }
}

// Feeds buffered bytes to the parser. Returns true when a whole request is ready.
bool ServerConnection::parseAvailable() {
  evbuffer* input = bufferevent_get_input(bev_);
  while (evbuffer_get_length(input) > 0) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(input, -1, nullptr, &chunk, 1) < 1) break;
    const char* data = static_cast<const char*>(chunk.iov_base);
    size_t consumed =
        http_parser_execute(&parser_, &ServerParserCallbacks::settings(), data, chunk.iov_len);
    if (!headers_complete_) head_bytes_ += consumed;
    evbuffer_drain(input, consumed);
    http_errno error = HTTP_PARSER_ERRNO(&parser_);
    if (error_status_ == 413) {
      failRequest(413, "Request body exceeds the limit of " +
                           std::to_string(shared_.limits.max_body_bytes) + " bytes");
      return false;
    }
    if ((!headers_complete_ && head_bytes_ > shared_.limits.max_header_bytes) ||
        error == HPE_HEADER_OVERFLOW) {
      failRequest(431, "Request headers exceed the limit of " +
                           std::to_string(shared_.limits.max_header_bytes) + " bytes");
      return false;
    }
    if (message_complete_) return true;
    if (error != HPE_OK && error != HPE_PAUSED) {
      failRequest(400, std::string("Malformed HTTP request: ") + http_errno_description(error));
      return false;
    }
  }
  return false;
}

void ServerConnection::dispatch() {
  message_complete_ = false;
  in_request_ = false;
  evtimer_del(timer_);
  exchange_ = std::make_shared<ConnectionExchange>(this, shared_.base, std::move(request_), peer_,
                                                   shared_.limits);
  ++shared_.active_exchanges;
  auto exchange = exchange_;
  shared_.handler(exchange);
}

void ServerConnection::failRequest(int status, std::string_view message) {
  std::string body = shared_.error_body(status, message);
  if (shared_.on_rejected) shared_.on_rejected(status, request_, body.size());
  char head[256];
  int n = std::snprintf(head, sizeof head,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: "
                        "%zu\r\nConnection: close\r\n\r\n",
                        status, std::string(reasonPhrase(status)).c_str(), body.size());
  bufferevent_write(bev_, head, static_cast<size_t>(n));
  bufferevent_write(bev_, body.data(), body.size());
  closing_ = true;
  evtimer_del(timer_);
  bufferevent_disable(bev_, EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) scheduleDeferred();
}

void ServerConnection::writeHead(int status, const Headers& headers,
                                 std::optional<uint64_t> content_length, bool chunked_allowed) {
  if (!shared_.accepting) keep_alive_ = false;  // draining: finish this one, then close
  std::string head =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reasonPhrase(status)) + "\r\n";
  for (const auto& [name, value] : headers) {
    if (equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "connection") ||
        equalsIgnoreCase(name, "transfer-encoding")) {
      continue;
    }
    head.append(name).append(": ").append(value).append("\r\n");
  }
  chunked_response_ = false;
  if (content_length) {
    head.append("Content-Length: ").append(std::to_string(*content_length)).append("\r\n");
  } else if (chunked_allowed && exchange_->request().version_minor >= 1 && !isHead()) {
    chunked_response_ = true;
    head.append("Transfer-Encoding: chunked\r\n");
  } else if (!isHead()) {
    keep_alive_ = false;  // close-delimited body
  }
  if (!keep_alive_) {
    head.append("Connection: close\r\n");
  } else if (exchange_->request().version_minor == 0) {
    head.append("Connection: keep-alive\r\n");
  }
  head.append("\r\n");
  bufferevent_write(bev_, head.data(), head.size());
}

void ServerConnection::writeBody(std::string_view data) {
  if (isHead()) return;
  if (chunked_response_) {
    char size_line[32];
    int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
    bufferevent_write(bev_, size_line, static_cast<size_t>(n));
  }
  bufferevent_write(bev_, data.data(), data.size());
  if (chunked_response_) bufferevent_write(bev_, "\r\n", 2);
}

void ServerConnection::writeBody(evbuffer* data) {
  size_t length = evbuffer_get_length(data);
  if (isHead()) {
    evbuffer_drain(data, length);
    return;
  }
  evbuffer* output = bufferevent_get_output(bev_);
  if (chunked_response_) evbuffer_add_printf(output, "%zx\r\n", length);
  evbuffer_add_buffer(output, data);
  if (chunked_response_) evbuffer_add(output, "\r\n", 2);
}

void ServerConnection::finishResponse() {
  if (chunked_response_) bufferevent_write(bev_, "0\r\n\r\n", 5);
  chunked_response_ = false;
  exchange_.reset();
  --shared_.active_exchanges;
  drain_wanted_ = false;
  if (!keep_alive_ || !shared_.accepting) {
    closing_ = true;
    bufferevent_disable(bev_, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(bev_)) == 0) scheduleDeferred();
    return;
  }
  http_parser_pause(&parser_, 0);
  armTimer(shared_.limits.idle_timeout);
  scheduleDeferred();  // serve pipelined requests already buffered, outside the caller's stack
}

void ServerConnection::abortConnection() {
  if (exchange_) {
    exchange_.reset();
    --shared_.active_exchanges;
  }
  linger hard_close{1, 0};
  setsockopt(bufferevent_getfd(bev_), SOL_SOCKET, SO_LINGER, &hard_close, sizeof hard_close);
  evbuffer_drain(bufferevent_get_output(bev_), evbuffer_get_length(bufferevent_get_output(bev_)));
  closing_ = true;
  bufferevent_disable(bev_, EV_READ | EV_WRITE);
  scheduleDeferred();
}

// request_ was moved into the exchange at dispatch: ask the exchange.
bool ServerConnection::isHead() const {
  return exchange_ && exchange_->request().method == "HEAD";
}

size_t ServerConnection::pendingOutput() const {
  return evbuffer_get_length(bufferevent_get_output(bev_));
}

void ServerConnection::requestDrainNotice() {
  drain_wanted_ = true;
  if (pendingOutput() <= shared_.limits.output_low_watermark) {
    scheduleDeferred();
  } else {
    bufferevent_setwatermark(bev_, EV_WRITE, shared_.limits.output_low_watermark, 0);
  }
}

void ServerConnection::onWrite(bufferevent*, void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->closing_ && self->pendingOutput() == 0) {
    self->scheduleDeferred();
    return;
  }
  if (self->drain_wanted_ && self->pendingOutput() <= self->shared_.limits.output_low_watermark) {
    self->drain_wanted_ = false;
    bufferevent_setwatermark(self->bev_, EV_WRITE, 0, 0);
    if (self->exchange_) self->exchange_->notifyDrained();
  }
}

void ServerConnection::onEvent(bufferevent*, short what, void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) self->clientGone();
}

void ServerConnection::clientGone() {
  if (destroyed_) return;
  closing_ = true;
  bufferevent_disable(bev_, EV_READ | EV_WRITE);
  if (exchange_) {
    auto exchange = std::move(exchange_);
    --shared_.active_exchanges;
    exchange->detach();
  }
  scheduleDeferred();
}

void ServerConnection::onTimer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->exchange_ || self->closing_) return;
  if (self->in_request_) {
    self->failRequest(408, "The request did not arrive completely within " +
                               std::to_string(self->shared_.limits.request_timeout.count()) +
                               " ms");
    return;
  }
  self->closing_ = true;  // idle keep-alive connection
  self->scheduleDeferred();
}

void ServerConnection::scheduleDeferred() {
  event_active(deferred_, 0, 0);
}

void ServerConnection::onDeferred(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->drain_wanted_ && self->exchange_ &&
      self->pendingOutput() <= self->shared_.limits.output_low_watermark) {
    self->drain_wanted_ = false;
    self->exchange_->notifyDrained();
  }
  if (self->closing_ && (self->pendingOutput() == 0 || !self->exchange_)) {
    bool flushed = self->pendingOutput() == 0;
    bool broken = !(bufferevent_get_enabled(self->bev_) & EV_WRITE);
    if (flushed || broken) {
      self->destroy();
      return;
    }
  }
  if (!self->closing_) self->processInput();
}

void ServerConnection::closeIfIdle() {
  if (!exchange_ && !in_request_) {
    closing_ = true;
    scheduleDeferred();
  }
}

void ServerConnection::destroy() {
  if (destroyed_) return;
  destroyed_ = true;
  if (exchange_) {
    auto exchange = std::move(exchange_);
    --shared_.active_exchanges;
    exchange->detach();
  }
  shared_.on_closed(this);  // deletes this
}

}  // namespace arkroute::http
