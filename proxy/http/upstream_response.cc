// Upstream response parsing (the simple-head fast path, else http-parser); body bytes leave the
// input buffer by evbuffer moves.
#include "proxy/http/upstream_response.h"

#include <event2/buffer.h>

#include <algorithm>

#include "proxy/http/simple_head.h"

namespace arkroute::http {

namespace {

ResponseParser* self(http_parser* parser) {
  return static_cast<ResponseParser*>(parser->data);
}

}  // namespace

ResponseParser::ResponseParser() {
  reset(false);
}

void ResponseParser::reset(bool head_request) {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  head_request_ = head_request;
  clearHead();
  head_complete_ = false;
  interim_ = false;
  complete_ = false;
  keep_alive_ = false;
  counted_keep_alive_ = false;
  counted_body_ = false;
  body_left_ = 0;
  bytes_parsed_ = 0;
  error_.clear();
  chunk_ends_.reset();
}

void ResponseParser::clearHead() {
  status_ = 0;
  headers_.clear();
  field_.clear();
  in_value_ = false;
}

const http_parser_settings& ResponseParser::settings() {
  static const http_parser_settings kSettings = [] {
    http_parser_settings settings{};
    settings.on_header_field = &ResponseParser::onHeaderField;
    settings.on_header_value = &ResponseParser::onHeaderValue;
    settings.on_headers_complete = &ResponseParser::onHeadersComplete;
    settings.on_body = &ResponseParser::onBody;
    settings.on_message_complete = &ResponseParser::onMessageComplete;
    return settings;
  }();
  return kSettings;
}

int ResponseParser::onHeaderField(http_parser* parser, const char* at, size_t length) {
  ResponseParser* p = self(parser);
  if (p->in_value_) p->field_.clear();
  p->in_value_ = false;
  p->field_.append(at, length);
  return 0;
}

// http-parser accepts whitespace between a name and its colon, and still reads a spaced
// "Transfer-Encoding : chunked" as framing. RFC 9112 section 5.1: a proxy removes that whitespace
// before forwarding. A name that is not a token even then is dropped, so no field a client could
// read as framing differently from the gateway ever reaches it.
int ResponseParser::onHeaderValue(http_parser* parser, const char* at, size_t length) {
  ResponseParser* p = self(parser);
  if (!p->in_value_ && length > 0 && isControlByte(at[0])) {  // this build checks the rest only
    p->error_ = "a header value contains a control character";
    return -1;
  }
  if (!p->in_value_) {
    while (!p->field_.empty() && (p->field_.back() == ' ' || p->field_.back() == '\t')) {
      p->field_.pop_back();
    }
    p->skip_field_ = !isFieldNameText(p->field_);
    if (!p->skip_field_) p->headers_.add(p->field_, "");
  }
  p->in_value_ = true;
  if (!p->skip_field_) p->headers_.appendToLastValue(std::string_view(at, length));
  return 0;
}

int ResponseParser::onHeadersComplete(http_parser* parser) {
  ResponseParser* p = self(parser);
  if (parser->status_code == 101) {
    // The gateway never asks to upgrade: what follows a 101 is not HTTP, and must not be read as
    // the answer (RFC 9110 section 15.2.2).
    p->error_ = "101 Switching Protocols, but no protocol switch was asked for";
    return -1;
  }
  if (parser->status_code >= 100 && parser->status_code < 200) {
    p->interim_ = true;  // 100 Continue, 103 Early Hints: the real response follows
    return 0;
  }
  p->status_ = parser->status_code;
  p->head_complete_ = true;
  return p->head_request_ ? 1 : 0;  // 1 tells http-parser that no body follows
}

constexpr const char* kBadChunkEnd = "a chunk's data is not followed by CRLF";

int ResponseParser::onBody(http_parser* parser, const char* at, size_t length) {
  ResponseParser* p = self(parser);
  if (!p->chunk_ends_.bodyPiece(parser, at + length)) {
    p->error_ = kBadChunkEnd;
    return -1;
  }
  size_t offset = static_cast<size_t>(at - p->chunk_);
  if (!p->segments_.empty()) {
    Segment& last = p->segments_.back();
    if (last.offset + last.length == offset) {
      last.length += length;
      return 0;
    }
  }
  p->segments_.push_back({offset, length});
  return 0;
}

int ResponseParser::onMessageComplete(http_parser* parser) {
  ResponseParser* p = self(parser);
  if (p->interim_) {
    p->interim_ = false;
    p->clearHead();
    return 0;
  }
  p->complete_ = true;
  p->keep_alive_ =
      parser->http_major == 1 && parser->http_minor >= 1 && http_should_keep_alive(parser) != 0;
  http_parser_pause(parser, 1);  // stop right after this response
  return 0;
}

// http-parser's own limit on a head (HTTP_MAX_HEADER_SIZE): a longer one is its to refuse.
constexpr size_t kMaxSimpleHeadBytes = 80 * 1024;

bool ResponseParser::takeSimpleHead(evbuffer* input) {
  if (head_request_ || bytes_parsed_ > 0) return false;
  evbuffer_iovec chunk;
  if (evbuffer_peek(input, -1, nullptr, &chunk, 1) < 1) return false;
  SimpleHead head;
  std::string_view data(static_cast<const char*>(chunk.iov_base), chunk.iov_len);
  if (!parseSimpleResponseHead(data, kMaxSimpleHeadBytes, &head, &headers_)) return false;
  evbuffer_drain(input, head.head_bytes);
  bytes_parsed_ = head.head_bytes;
  status_ = head.status;
  head_complete_ = true;
  counted_keep_alive_ = head.keep_alive;
  counted_body_ = true;
  body_left_ = head.content_length;
  countedBodyMoved(0);
  return true;
}

void ResponseParser::moveCountedBody(evbuffer* input, evbuffer* body) {
  size_t length = std::min<uint64_t>(body_left_, evbuffer_get_length(input));
  evbuffer_remove_buffer(input, body, length);
  countedBodyMoved(length);
}

// Like http-parser, says whether the connection is reusable only once the response is complete.
void ResponseParser::countedBodyMoved(size_t length) {
  body_left_ -= length;
  bytes_parsed_ += length;
  complete_ = body_left_ == 0;
  if (complete_) keep_alive_ = counted_keep_alive_;
}

bool ResponseParser::parse(evbuffer* input, evbuffer* body) {
  if (!counted_body_ && !complete_) takeSimpleHead(input);
  if (counted_body_) {
    if (!complete_) moveCountedBody(input, body);
    return true;
  }
  while (!complete_ && evbuffer_get_length(input) > 0) {
    evbuffer_iovec chunk;
    if (evbuffer_peek(input, -1, nullptr, &chunk, 1) < 1 || chunk.iov_len == 0) break;
    chunk_ = static_cast<const char*>(chunk.iov_base);
    segments_.clear();
    if (!chunk_ends_.beginRead(chunk_, chunk.iov_len)) {
      error_ = kBadChunkEnd;
      return false;
    }
    size_t consumed = http_parser_execute(&parser_, &settings(), chunk_, chunk.iov_len);
    http_errno status = HTTP_PARSER_ERRNO(&parser_);
    if (status != HPE_OK && !(status == HPE_PAUSED && complete_)) {
      if (error_.empty()) error_ = http_errno_description(status);
      return false;
    }
    bytes_parsed_ += consumed;
    moveBody(input, body, consumed);
  }
  return true;
}

void ResponseParser::moveBody(evbuffer* input, evbuffer* body, size_t consumed) {
  size_t position = 0;
  for (const Segment& segment : segments_) {
    if (segment.offset > position) evbuffer_drain(input, segment.offset - position);
    evbuffer_remove_buffer(input, body, segment.length);
    position = segment.offset + segment.length;
  }
  if (consumed > position) evbuffer_drain(input, consumed - position);
  segments_.clear();
}

void ResponseParser::finishAtEof() {
  if (complete_ || bytes_parsed_ == 0 || counted_body_) return;  // a counted body ended early
  http_parser_execute(&parser_, &settings(), nullptr, 0);        // completes close-delimited bodies
}

}  // namespace arkroute::http
