// Plain socket stream: level-triggered reads with readv into the input buffer, deferred writes
// with writev, the write event armed only while the socket is full (see socket_stream.h).
#include "proxy/http/socket_stream.h"

#include <event2/buffer.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "proxy/http/buffer_fill.h"

namespace arkroute::http {

namespace {

// One readv into up to `want` bytes at the end of buffer (see appendFrom).
ssize_t readInto(evbuffer* buffer, evutil_socket_t fd, size_t want) {
  return appendFrom(buffer, want, [fd](iovec* vectors, int count) {
    return count == 1 ? read(fd, vectors[0].iov_base, vectors[0].iov_len)
                      : readv(fd, vectors, count);
  });
}

}  // namespace

SocketStream::SocketStream(event_base* base, evutil_socket_t fd, Handler& handler, SSL* tls)
    : base_(base), fd_(fd), handler_(handler) {
  input_ = evbuffer_new();
  output_ = evbuffer_new();
  read_event_ = event_new(base_, fd_, EV_READ | EV_PERSIST, &SocketStream::onReadEvent, this);
  write_event_ = event_new(base_, fd_, EV_WRITE | EV_PERSIST, &SocketStream::onWriteEvent, this);
  flush_event_ = event_new(base_, -1, 0, &SocketStream::onFlushEvent, this);
  updateReadRegistration();
  if (tls) {
    tls_ = std::make_unique<SocketTls>(tls, fd_);
    flushSoon();  // the handshake starts from the flush event, outside the caller's stack
  }
}

SocketStream::~SocketStream() {
  event_free(read_event_);
  event_free(write_event_);
  event_free(flush_event_);
  evbuffer_free(input_);
  evbuffer_free(output_);
  evutil_closesocket(fd_);
}

void SocketStream::setReadLimits(size_t read_limit, size_t max_per_event) {
  read_limit_ = read_limit;
  max_read_per_event_ = std::max<size_t>(max_per_event, 1);
  updateReadRegistration();
}

void SocketStream::setWriteTimeout(std::chrono::milliseconds timeout) {
  write_timeout_ = timeout;
}

void SocketStream::enableRead() {
  read_wanted_ = true;
  updateReadRegistration();
}

void SocketStream::disableRead() {
  read_wanted_ = false;
  updateReadRegistration();
}

void SocketStream::inputConsumed() {
  if (read_limit_ > 0) updateReadRegistration();
}

void SocketStream::stop() {
  stopped_ = true;
  updateReadRegistration();
  disarmWrite();
}

void SocketStream::writeWhatTheSocketTakes() {
  if (tls_ || write_failed_ || stopped_) return;
  while (evbuffer_get_length(output_) > 0 && evbuffer_write(output_, fd_) > 0) {
  }
}

void SocketStream::updateReadRegistration() {
  bool want =
      read_wanted_ && !stopped_ && (read_limit_ == 0 || evbuffer_get_length(input_) < read_limit_);
  if (want == read_registered_) return;
  read_registered_ = want;
  if (want) {
    event_add(read_event_, nullptr);
    if (tls_) rerunTlsRead();
  } else {
    event_del(read_event_);
  }
}

void SocketStream::onReadEvent(evutil_socket_t, short, void* arg) {
  static_cast<SocketStream*>(arg)->readNow();
}

// Reads until the socket is drained (a short read) or the per-event budget is used, growing the
// read size so a large body takes few calls. An event that used its whole budget left data in the
// socket, so the next one starts at the full budget: one readv per event in the middle of a large
// body instead of three. Data read before an EOF or error is delivered first; the EOF or error is
// then reported by the next read event (level-triggered, so it comes).
void SocketStream::readNow() {
  if (tls_) {
    readTlsNow();
    return;
  }
  size_t budget = readBudget();
  size_t chunk = std::min(budget, mid_body_ ? max_read_per_event_ : kScratchFillBytes);
  size_t total = 0;
  while (budget > 0) {
    ssize_t got = readInto(input_, fd_, chunk);
    if (got < 0 && wouldBlock(errno)) break;
    if (got <= 0) {
      if (total > 0) break;
      failWith(BEV_EVENT_READING | (got == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
      return;
    }
    total += static_cast<size_t>(got);
    budget -= static_cast<size_t>(got);
    if (static_cast<size_t>(got) < chunk) break;  // the socket had no more
    chunk = std::min(budget, chunk * 4);
  }
  mid_body_ = budget == 0 && total > 0;  // stopped by the budget, not by an empty socket
  if (read_limit_ > 0) updateReadRegistration();
  if (total > 0) handler_.onStreamRead();
}

bool SocketStream::mayHoldUnreadInput() const {
  return mid_body_ || (tls_ && tls_->hasBufferedRecords());
}

size_t SocketStream::readBudget() const {
  if (read_limit_ == 0) return max_read_per_event_;
  size_t held = evbuffer_get_length(input_);
  return held >= read_limit_ ? 0 : std::min(max_read_per_event_, read_limit_ - held);
}

void SocketStream::flushSoon() {
  if (flush_pending_ || write_armed_ || write_failed_ || stopped_) return;
  flush_pending_ = true;
  event_active(flush_event_, EV_WRITE, 0);
}

void SocketStream::onFlushEvent(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<SocketStream*>(arg);
  self->flush_pending_ = false;
  if (self->write_armed_ || self->write_failed_ || self->stopped_) return;
  self->writeNow();
}

void SocketStream::onWriteEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<SocketStream*>(arg);
  if (what & EV_TIMEOUT) {
    self->failWith(BEV_EVENT_WRITING | BEV_EVENT_TIMEOUT);
    return;
  }
  self->writeNow();
}

// Writes until output is empty or the socket is full (a short write: the write event takes over),
// then tells the handler when something was written and output is at or below the low watermark.
void SocketStream::writeNow() {
  if (tls_) {
    writeTlsNow();
    return;
  }
  bool wrote = false;
  if (writeOut(output_, &wrote) == WriteResult::kFailed) return;
  finishWrite(wrote, evbuffer_get_length(output_));
}

SocketStream::WriteResult SocketStream::writeOut(evbuffer* buffer, bool* wrote) {
  while (size_t pending = evbuffer_get_length(buffer)) {
    int written = evbuffer_write_atmost(buffer, fd_, static_cast<ev_ssize_t>(max_single_write_));
    if (written < 0 && !wouldBlock(errno)) {
      failWith(BEV_EVENT_WRITING | BEV_EVENT_ERROR);
      return WriteResult::kFailed;
    }
    if (written > 0) *wrote = true;
    if (written <= 0 || static_cast<size_t>(written) < std::min(pending, max_single_write_)) {
      armWrite();
      return WriteResult::kSocketFull;
    }
  }
  return WriteResult::kEmptied;
}

void SocketStream::finishWrite(bool wrote, size_t left) {
  if (left == 0) disarmWrite();
  if (wrote && left <= low_watermark_) handler_.onStreamWritten();
}

size_t SocketStream::pendingOutput() const {
  return evbuffer_get_length(output_) + (tls_ ? evbuffer_get_length(tls_->ciphertext()) : 0);
}

void SocketStream::armWrite() {
  if (write_armed_) return;
  write_armed_ = true;
  if (write_timeout_.count() > 0) {
    timeval tv{static_cast<time_t>(write_timeout_.count() / 1000),
               static_cast<suseconds_t>((write_timeout_.count() % 1000) * 1000)};
    event_add(write_event_, &tv);
  } else {
    event_add(write_event_, nullptr);
  }
}

void SocketStream::disarmWrite() {
  if (!write_armed_) return;
  write_armed_ = false;
  event_del(write_event_);
}

// Like a bufferevent: a read EOF or error stops reading, a write error or timeout stops writing;
// the socket error survives until the handler runs.
void SocketStream::failWith(short what) {
  int error = errno;
  if (what & BEV_EVENT_READING) {
    read_wanted_ = false;
    updateReadRegistration();
  } else {
    write_failed_ = true;
    disarmWrite();
  }
  errno = error;
  handler_.onStreamEvent(what);
}

}  // namespace arkroute::http
