// SocketStream's TLS mode (see socket_stream.h): the handshake, reads that decrypt many records per
// event, writes through OpenSSL, and the re-runs a socket's readiness cannot announce: records
// OpenSSL already holds, and an end or error found after data that was delivered first.
#include <event2/buffer.h>

#include <algorithm>
#include <cerrno>

#include "proxy/http/socket_stream.h"

namespace arkroute::http {

namespace {
constexpr size_t kFirstTlsChunk = 16 * 1024;  // one record: a small answer in one piece
}  // namespace

void SocketStream::continueHandshake() {
  switch (tls_->handshake()) {
    case SocketTls::Step::kDone:
      disarmWrite();
      handler_.onStreamEvent(BEV_EVENT_CONNECTED);
      return;
    case SocketTls::Step::kWantRead:
      disarmWrite();  // the read event, registered since the start, goes on
      return;
    case SocketTls::Step::kWantWrite:
      armWrite();
      return;
    case SocketTls::Step::kFailed:
      failWith(BEV_EVENT_READING |
               (errno == 0 && tls_->failure().empty() ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
      return;
  }
}

// Runs the read event again for what the socket will not announce: whole records OpenSSL read
// ahead but this event's budget left undecrypted, or an end or error held back behind data.
void SocketStream::rerunTlsRead() {
  if (!read_registered_) return;  // comes when reading is turned back on
  if (held_failure_ != 0 || (mid_body_ && tls_->hasBufferedRecords())) {
    event_active(read_event_, EV_READ, 1);
  }
}

void SocketStream::readTlsNow() {
  if (!read_registered_) return;  // a re-run queued before reading was turned off
  tls_->newEvent();
  if (held_failure_ != 0) {
    errno = held_errno_;
    failWith(held_failure_);
    return;
  }
  if (!tls_->established()) {
    continueHandshake();
    return;
  }
  size_t budget = readBudget();
  size_t chunk = std::min(budget, kFirstTlsChunk);
  size_t total = 0;
  while (budget > 0) {
    ssize_t got = tls_->read(input_, chunk);
    if (got > 0) {
      total += static_cast<size_t>(got);
      budget -= static_cast<size_t>(got);
      chunk = std::min(budget, chunk * 4);
      continue;
    }
    if (got < 0 && errno == EAGAIN) {
      read_wants_write_ = tls_->wantsWrite();
      if (read_wants_write_) armWrite();
      break;
    }
    short what = BEV_EVENT_READING | (got == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR);
    if (total == 0) {
      failWith(what);
      return;
    }
    held_failure_ = what;  // the data read before it goes to the handler first
    held_errno_ = errno;
    break;
  }
  mid_body_ = budget == 0 && total > 0;
  rerunTlsRead();
  if (evbuffer_get_length(output_) > 0) flushSoon();  // a write may have waited for this read
  if (read_limit_ > 0) updateReadRegistration();
  if (total > 0) handler_.onStreamRead();
}

void SocketStream::writeTlsNow() {
  tls_->newEvent();
  if (!tls_->established()) {
    continueHandshake();
    return;
  }
  if (read_wants_write_) {
    read_wants_write_ = false;
    event_active(read_event_, EV_READ, 1);
  }
  bool wrote = false;
  while (evbuffer_get_length(output_) > 0) {
    ssize_t sent = tls_->write(output_);
    if (sent > 0) {
      wrote = true;
      continue;
    }
    if (sent < 0 && errno == EAGAIN) {
      // A full socket arms the write event; OpenSSL waiting to read first leaves it to the read
      // event, which flushes again.
      if (tls_->wantsWrite()) {
        armWrite();
      } else {
        disarmWrite();
      }
      break;
    }
    failWith(BEV_EVENT_WRITING | BEV_EVENT_ERROR);
    return;
  }
  finishWrite(wrote);
}

}  // namespace arkroute::http
