// Client connection: parsing within limits, dispatch, response framing, keep-alive, timeouts.
#include "proxy/http/server_connection.h"

#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "proxy/http/piece_writer.h"
#include "proxy/http/server_exchange.h"
#include "proxy/http/server_request_checks.h"
#include "proxy/http/server_response_head.h"
#include "proxy/http/simple_head.h"

namespace arkroute::http {

namespace {
// Bytes read ahead of the parser (pipelined requests, a body still arriving while the previous
// response is being written) before reading pauses.
constexpr size_t kMaxBufferedInput = 256 * 1024;
}  // namespace

// http-parser callbacks, friends of ServerConnection.
class ServerParserCallbacks {
 public:
  static ServerConnection* self(http_parser* p) { return static_cast<ServerConnection*>(p->data); }

  static int onMessageBegin(http_parser* p) {
    ServerConnection* c = self(p);
    c->request_ = Request();
    c->target_.clear();
    c->header_field_.clear();
    c->last_was_value_ = false;
    c->headers_complete_ = false;
    c->chunk_ends_.reset();
    return 0;
  }
  static int onUrl(http_parser* p, const char* at, size_t length) {
    self(p)->target_.append(at, length);
    return 0;
  }
  static int onHeaderField(http_parser* p, const char* at, size_t length) {
    ServerConnection* c = self(p);
    if (!isFieldNameText(std::string_view(at, length))) {
      c->error_status_ = 400;
      return -1;  // stops the parser: the request is refused, never forwarded
    }
    if (c->last_was_value_) c->header_field_.clear();
    c->last_was_value_ = false;
    c->header_field_.append(at, length);
    return 0;
  }
  static int onHeaderValue(http_parser* p, const char* at, size_t length) {
    ServerConnection* c = self(p);
    // This http-parser build checks every byte of a value but its first.
    if (!c->last_was_value_ && length > 0 && isControlByte(at[0])) {
      c->error_status_ = 400;
      c->error_message_ = "Malformed HTTP request: a header value contains a control character";
      return -1;
    }
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
    if (!c->chunk_ends_.bodyPiece(p, at + length)) return c->refuseChunkEnd();
    return 0;
  }
  // A chunk that would take the body past the limit is refused when its size is read, not after
  // its bytes have been waited for.
  static int onChunkHeader(http_parser* p) {
    ServerConnection* c = self(p);
    if (p->content_length > c->shared_.limits.max_body_bytes - c->request_.body.size()) {
      c->error_status_ = 413;
      return -1;
    }
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
  std::string_view target = originForm(c->target_);
  size_t question = target.find('?');
  r.path = target.substr(0, question);
  r.query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  auto refusal = requestLineRefusal(c->request_line_, c->target_);
  if (!refusal) refusal = headRefusal(r);
  if (refusal) {
    c->error_status_ = refusal->first;
    c->error_message_ = std::move(refusal->second);
    http_parser_pause(p, 1);
    return 0;
  }
  bool has_length = (p->flags & F_CONTENTLENGTH) != 0;
  if (has_length && p->content_length > c->shared_.limits.max_body_bytes) {
    c->error_status_ = 413;
    http_parser_pause(p, 1);
    return 0;
  }
  // The body is appended as it arrives: room for all of it now spares the copies of a string
  // doubling its way up (for a 50 MB upload, ~50 MB copied on the loop in a few large stalls).
  if (has_length && p->content_length > 0) {
    r.body.reserve(static_cast<size_t>(p->content_length) + kBodyPadding);
  }
  if (equalsIgnoreCase(r.headers.get("expect"), "100-continue") && p->http_minor >= 1) {
    evbuffer_add(c->stream_->output(), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->stream_->flushSoon();
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
    s.on_chunk_header = onChunkHeader;
    s.on_message_complete = onMessageComplete;
    return s;
  }();
  return kSettings;
}

ServerConnection::ServerConnection(ServerShared& shared, evutil_socket_t fd, std::string peer)
    : shared_(shared),
      timer_(shared.base, &ServerConnection::onTimer, this),
      peer_(std::move(peer)) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SocketStream::Handler& handler = *this;
  stream_ = std::make_unique<SocketStream>(shared_.base, fd, handler);
  stream_->setReadLimits(kMaxBufferedInput, kMaxBufferedInput);
  stream_->setWriteTimeout(shared_.limits.write_timeout);
  deferred_ = event_new(shared_.base, -1, 0, &ServerConnection::onDeferred, this);
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  ++shared_.open_connections;
  timer_.arm(shared_.limits.idle_timeout);
}

ServerConnection::~ServerConnection() {
  detachExchange();  // the server is being destroyed with this request unanswered
  event_free(deferred_);
  stream_.reset();
  --shared_.open_connections;
}

void ServerConnection::onStreamRead() {
  if (lingering_) {
    lingerRead();
    return;
  }
  processInput();
}

void ServerConnection::processInput() {
  while (!destroyed_ && !closing_ && !exchange_) {
    if (evbuffer_get_length(stream_->input()) == 0) return;
    if (!in_request_) {
      in_request_ = true;
      head_bytes_ = 0;
      timer_.arm(shared_.limits.request_timeout);
    }
    if (!parseAvailable()) return;
    dispatch();
  }
}

// The fast path: a whole simple request (head and Content-Length body) at the start of the input
// buffer becomes request_ without http-parser. False leaves everything to http-parser.
bool ServerConnection::takeSimpleRequest() {
  if (headers_complete_ || head_bytes_ > 0) return false;
  evbuffer_iovec chunk;
  if (evbuffer_peek(stream_->input(), -1, nullptr, &chunk, 1) < 1) return false;
  std::string_view data(static_cast<const char*>(chunk.iov_base), chunk.iov_len);
  request_ = Request();
  SimpleHead head;
  Headers& headers = request_.headers;
  if (!parseSimpleRequestHead(data, shared_.limits.max_header_bytes, &head, &headers)) return false;
  uint64_t body_bytes = head.content_length;
  if (body_bytes > shared_.limits.max_body_bytes || body_bytes > data.size() - head.head_bytes) {
    headers.clear();
    return false;  // a body over the limit (http-parser answers 413) or not all here yet
  }
  request_.method.assign(head.method);
  request_.version_minor = head.version_minor;
  std::string_view target = originForm(head.target);
  size_t question = target.find('?');
  request_.path.assign(target.substr(0, question));
  request_.query.assign(question == std::string_view::npos ? std::string_view()
                                                           : target.substr(question + 1));
  if (body_bytes > 0) request_.body.reserve(body_bytes + kBodyPadding);
  request_.body.assign(data.substr(head.head_bytes, body_bytes));
  keep_alive_ = head.keep_alive;
  message_complete_ = true;
  evbuffer_drain(stream_->input(), head.head_bytes + body_bytes);
  stream_->inputConsumed();
  return true;
}

// The slow path's request line, up to its LF, for requestLineRefusal (bounded by the head limit).
void ServerConnection::keepRequestLine(std::string_view data) {
  if (head_bytes_ == 0) {
    request_line_.clear();
    request_line_done_ = false;
  }
  if (request_line_done_) return;
  // Empty lines before a request line are skipped (RFC 9112 2.2), as http-parser skips them.
  while (request_line_.empty() && !data.empty() && (data[0] == '\r' || data[0] == '\n')) {
    data.remove_prefix(1);
  }
  size_t newline = data.find('\n');
  request_line_.append(data.substr(0, newline));
  request_line_done_ = newline != std::string_view::npos;
}

// A chunk's data not followed by CRLF (see ChunkEnds): the request is refused, never forwarded.
int ServerConnection::refuseChunkEnd() {
  error_status_ = 400;
  error_message_ = "Malformed HTTP request: a chunk's data is not followed by CRLF";
  return -1;
}

// Feeds buffered bytes to the parser. Returns true when a whole request is ready.
bool ServerConnection::parseAvailable() {
  evbuffer* input = stream_->input();
  if (takeSimpleRequest()) return true;
  while (evbuffer_get_length(input) > 0) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(input, -1, nullptr, &chunk, 1) < 1) break;
    const char* data = static_cast<const char*>(chunk.iov_base);
    size_t length = chunk.iov_len;
    if (!headers_complete_) {
      // A whole oversized head can arrive in one read: feed at most one byte over the limit.
      size_t max_head = shared_.limits.max_header_bytes;
      length = std::min(length, max_head - std::min(head_bytes_, max_head) + 1);
    }
    if (!headers_complete_) keepRequestLine(std::string_view(data, length));
    if (!chunk_ends_.beginRead(data, length)) {
      refuseChunkEnd();
      failRequest(error_status_, error_message_);
      return false;
    }
    size_t consumed =
        http_parser_execute(&parser_, &ServerParserCallbacks::settings(), data, length);
    if (!headers_complete_) head_bytes_ += consumed;
    evbuffer_drain(input, consumed);
    stream_->inputConsumed();
    http_errno error = HTTP_PARSER_ERRNO(&parser_);
    if (!error_message_.empty()) {
      failRequest(error_status_, error_message_);
      return false;
    }
    if (error_status_ == 413) {
      failRequest(413, "Request body exceeds the limit of " +
                           std::to_string(shared_.limits.max_body_bytes) + " bytes");
      return false;
    }
    if (error_status_ == 400) {
      failRequest(400,
                  "Malformed HTTP request: a header field name contains a character that is not "
                  "allowed (such as a space before the colon)");
      return false;
    }
    if ((!headers_complete_ && head_bytes_ > shared_.limits.max_header_bytes) ||
        error == HPE_HEADER_OVERFLOW) {
      failRequest(431, "Request headers exceed the limit of " +
                           std::to_string(shared_.limits.max_header_bytes) + " bytes");
      return false;
    }
    if (message_complete_) return true;
    if (error == HPE_INVALID_METHOD) {
      failRequest(501,
                  "This method is not implemented: the gateway takes GET, HEAD, POST, "
                  "DELETE and OPTIONS");
      return false;
    }
    if (error != HPE_OK && error != HPE_PAUSED) {
      failRequest(400, std::string("Malformed HTTP request: ") + http_errno_description(error));
      return false;
    }
  }
  return false;
}

void ServerConnection::dispatch() {
  message_complete_ = false;
  headers_complete_ = false;  // the next message may take the fast path again
  in_request_ = false;
  timer_.disarm();
  exchange_ = std::make_shared<ConnectionExchange>(this, shared_.base, std::move(request_), peer_,
                                                   shared_.limits);
  ++shared_.active_exchanges;
  auto exchange = exchange_;
  shared_.handler(exchange);
}

void ServerConnection::failRequest(int status, std::string_view message) {
  if (!headers_complete_ && request_.method.empty() && !target_.empty()) {
    // Refused inside its head (a 431): the request line was read, and names it in the log.
    request_.method = http_method_str(static_cast<http_method>(parser_.method));
    std::string_view target = originForm(target_);
    request_.path = target.substr(0, target.find('?'));
  } else if (status == 501 && request_.method.empty()) {  // a method http-parser does not know
    std::string_view line = request_line_;
    request_.method.assign(line.substr(0, std::min<size_t>(line.find(' '), 32)));
  }
  std::string body = shared_.error_body(status, message);
  std::string request_id;
  if (shared_.on_rejected) request_id = shared_.on_rejected(status, request_, body.size());
  std::string head =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reasonPhrase(status)) +
      "\r\nDate: " + std::string(httpDateNow()) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n";
  if (!request_id.empty()) head += "x-request-id: " + request_id + "\r\n";
  head += "\r\n";
  evbuffer_add(stream_->output(), head.data(), head.size());
  evbuffer_add(stream_->output(), body.data(), body.size());
  stream_->flushSoon();
  closing_ = true;
  refused_ = true;
  timer_.disarm();
  stream_->disableRead();
}

void ServerConnection::writeHead(int status, const Headers& headers,
                                 std::optional<uint64_t> content_length, bool chunked_allowed) {
  if (!shared_.accepting) keep_alive_ = false;  // draining: finish this one, then close
  char framing[160];                            // Date 37, Content-Length 38, Connection 24 at most
  PieceWriter line(framing);
  // A provider's Date passes through; an answer the gateway makes (a hit, an error) gets its own.
  if (!headers.find("date")) line.put("Date: ").put(httpDateNow()).put("\r\n");
  chunked_response_ = false;
  if (status < 200 || status == 204 || status == 304) {
    // No body by definition (RFC 9112 6.3): neither a length nor chunked framing, which a client
    // would not read, leaving its bytes to be taken for the next answer on this connection.
  } else if (content_length) {
    line.put("Content-Length: ");
    line.moveTo(std::to_chars(line.at(), framing + sizeof framing, *content_length).ptr);
    line.put("\r\n");
  } else if (chunked_allowed && exchange_->request().version_minor >= 1 && !isHead()) {
    chunked_response_ = true;
    line.put("Transfer-Encoding: chunked\r\n");
  } else if (!isHead()) {
    keep_alive_ = false;  // close-delimited body
  }
  if (!keep_alive_) {
    line.put("Connection: close\r\n");
  } else if (exchange_->request().version_minor == 0) {
    line.put("Connection: keep-alive\r\n");
  }
  writeResponseHead(stream_->output(), status, headers,
                    std::string_view(framing, static_cast<size_t>(line.at() - framing)));
  stream_->flushSoon();
}

void ServerConnection::writeBody(std::string_view data) {
  if (isHead()) return;
  evbuffer* output = stream_->output();
  if (chunked_response_) {
    char size_line[32];
    int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
    evbuffer_add(output, size_line, static_cast<size_t>(n));
  }
  evbuffer_add(output, data.data(), data.size());
  if (chunked_response_) evbuffer_add(output, "\r\n", 2);
  stream_->flushSoon();
}

void ServerConnection::writeBodyShared(std::string_view data, std::shared_ptr<const void> owner) {
  if (isHead()) return;
  if (chunked_response_ || data.size() < 16 * 1024) {  // small: a copy costs less
    writeBody(data);
    return;
  }
  auto* keep = new std::shared_ptr<const void>(std::move(owner));
  evbuffer_add_reference(
      stream_->output(), data.data(), data.size(),
      [](const void*, size_t, void* held) {
        delete static_cast<std::shared_ptr<const void>*>(held);
      },
      keep);
  stream_->flushSoon();
}

void ServerConnection::writeBody(evbuffer* data) {
  size_t length = evbuffer_get_length(data);
  if (isHead()) {
    evbuffer_drain(data, length);
    return;
  }
  evbuffer* output = stream_->output();
  if (chunked_response_) evbuffer_add_printf(output, "%zx\r\n", length);
  evbuffer_add_buffer(output, data);
  if (chunked_response_) evbuffer_add(output, "\r\n", 2);
  stream_->flushSoon();
}

void ServerConnection::finishResponse() {
  if (chunked_response_) evbuffer_add(stream_->output(), "0\r\n\r\n", 5);
  // Written at the end of the batch, after the caller's log phase: a client's next request (its
  // usage, its budget) must already see this one counted. Writing here, before the ledger, let a
  // fast client read usage without its last generation.
  stream_->flushSoon();
  chunked_response_ = false;
  exchange_.reset();
  --shared_.active_exchanges;
  drain_wanted_ = false;
  if (!keep_alive_ || !shared_.accepting) {
    closing_ = true;
    stream_->disableRead();
    if (pendingOutput() == 0) scheduleDeferred();
    return;
  }
  http_parser_pause(&parser_, 0);
  timer_.arm(shared_.limits.idle_timeout);
  // Pipelined requests already buffered are served outside the caller's stack. With nothing
  // buffered (the common case), the next read event starts the next request.
  if (evbuffer_get_length(stream_->input()) > 0) scheduleDeferred();
}

void ServerConnection::abortConnection() {
  if (exchange_) {
    exchange_.reset();
    --shared_.active_exchanges;
  }
  // What was queued (the head, the body so far) goes out as far as the socket takes it now: the
  // client sees a cut answer rather than none. The reset then says it was cut.
  stream_->writeWhatTheSocketTakes();
  linger hard_close{1, 0};
  setsockopt(stream_->fd(), SOL_SOCKET, SO_LINGER, &hard_close, sizeof hard_close);
  evbuffer_drain(stream_->output(), pendingOutput());
  closing_ = true;
  stream_->stop();
  scheduleDeferred();
}

// request_ was moved into the exchange at dispatch: ask the exchange.
bool ServerConnection::isHead() const {
  return exchange_ && exchange_->request().method == "HEAD";
}

size_t ServerConnection::pendingOutput() const {
  return evbuffer_get_length(stream_->output());
}

void ServerConnection::requestDrainNotice() {
  drain_wanted_ = true;
  if (pendingOutput() <= shared_.limits.output_low_watermark) {
    scheduleDeferred();
  } else {
    stream_->setWriteLowWatermark(shared_.limits.output_low_watermark);
  }
}

void ServerConnection::onStreamWritten() {
  if (closing_ && pendingOutput() == 0) {
    scheduleDeferred();
    return;
  }
  if (drain_wanted_ && pendingOutput() <= shared_.limits.output_low_watermark) {
    drain_wanted_ = false;
    stream_->setWriteLowWatermark(0);
    if (exchange_) exchange_->notifyDrained();
  }
}

void ServerConnection::onStreamEvent(short what) {
  if (lingering_) {
    destroy();  // the client closed (or reset) its side: the linger is over
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) clientGone();
}

void ServerConnection::clientGone() {
  if (destroyed_) return;
  closing_ = true;
  stream_->stop();
  detachExchange();
  scheduleDeferred();
}

void ServerConnection::onTimer(void* arg) {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->lingering_) {
    self->linger_over_ = true;
    self->scheduleDeferred();
    return;
  }
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
  if (self->lingering_) {
    if (self->linger_over_) self->destroy();
    return;
  }
  if (self->drain_wanted_ && self->exchange_ &&
      self->pendingOutput() <= self->shared_.limits.output_low_watermark) {
    self->drain_wanted_ = false;
    self->exchange_->notifyDrained();
  }
  if (self->closing_ && (self->pendingOutput() == 0 || !self->exchange_)) {
    bool flushed = self->pendingOutput() == 0;
    bool broken = !self->stream_->writable();
    if (flushed && !broken && self->shouldLinger()) {
      self->startLingering();
      return;
    }
    if (flushed || broken) {
      self->destroy();
      return;
    }
  }
  if (!self->closing_) self->processInput();
}

void ServerConnection::closeIfIdle() {
  if (lingering_) {
    shortenLinger();
    return;
  }
  if (!exchange_ && !in_request_) {
    closing_ = true;
    scheduleDeferred();
  }
}

// Released before it is told: what its handler does on hearing it may end the request.
void ServerConnection::detachExchange() {
  if (!exchange_) return;
  auto exchange = std::move(exchange_);
  --shared_.active_exchanges;
  exchange->detach();
}

void ServerConnection::destroy() {
  if (destroyed_) return;
  destroyed_ = true;
  detachExchange();
  shared_.on_closed(this);  // deletes this
}

}  // namespace arkroute::http
