// SocketStream's TLS mode (see socket_stream.h): the handshake, reads that decrypt many records per
// event, writes that encrypt a batch of records and send them with one writev, and the re-runs a
// socket's readiness cannot announce: records OpenSSL already holds, and an end or error found
// after data that was delivered first.
#include <event2/buffer.h>

#include <algorithm>
#include <cerrno>

#include "proxy/http/buffer_fill.h"
#include "proxy/http/socket_stream.h"

namespace arkroute::http {

void SocketStream::continueHandshake() {
  SocketTls::Step step = tls_->handshake();
  int handshake_errno = errno;
  bool wrote = false;
  // What the step produced (ClientHello, Finished, or an alert) goes out first.
  WriteResult sent = writeOut(tls_->ciphertext(), &wrote);
  if (sent == WriteResult::kFailed) return;
  if (sent == WriteResult::kEmptied) disarmWrite();
  switch (step) {
    case SocketTls::Step::kDone:
      // Records that came with the handshake's last flight (a TLS 1.2 HelloRequest, data) are in
      // OpenSSL's buffer already: the socket will not announce them.
      if (read_registered_ && tls_->hasBufferedRecords()) event_active(read_event_, EV_READ, 1);
      handler_.onStreamEvent(BEV_EVENT_CONNECTED);
      return;
    case SocketTls::Step::kWantRead:
      return;  // the read event, registered since the start, goes on
    case SocketTls::Step::kFailed:
      errno = handshake_errno;
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
  size_t chunk = std::min(budget, kScratchFillBytes);
  size_t total = 0;
  while (budget > 0) {
    ssize_t got = tls_->read(input_, chunk);
    if (got > 0) {
      total += static_cast<size_t>(got);
      budget -= static_cast<size_t>(got);
      chunk = std::min(budget, chunk * 4);
      continue;
    }
    if (got < 0 && errno == EAGAIN) break;
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
  // Records the read produced (a TLS 1.2 renegotiation's handshake), or a write that waited for a
  // read. (A TLS 1.3 KeyUpdate's answer waits for the next write: OpenSSL sends it ahead of data.)
  if (pendingOutput() > 0) flushSoon();
  if (read_limit_ > 0) updateReadRegistration();
  if (total > 0) handler_.onStreamRead();
}

// Encrypts output into records, up to a batch of max_single_write_ bytes at a time, and writes each
// batch with one writev, until output is empty or the socket is full.
void SocketStream::writeTlsNow() {
  tls_->newEvent();
  if (!tls_->established()) {
    continueHandshake();
    return;
  }
  evbuffer* records = tls_->ciphertext();
  bool wrote = false;
  bool waits_for_read = false;
  for (;;) {
    while (evbuffer_get_length(output_) > 0 && evbuffer_get_length(records) < max_single_write_) {
      ssize_t taken = tls_->write(output_);
      if (taken > 0) continue;
      if (taken < 0 && errno != EAGAIN) {
        failWith(BEV_EVENT_WRITING | BEV_EVENT_ERROR);
        return;
      }
      waits_for_read = taken < 0;  // OpenSSL must read first: the read event flushes again
      break;
    }
    if (evbuffer_get_length(records) == 0) break;
    WriteResult sent = writeOut(records, &wrote);
    if (sent == WriteResult::kFailed) return;
    if (sent == WriteResult::kSocketFull) break;
    if (waits_for_read) break;
  }
  if (waits_for_read && evbuffer_get_length(records) == 0) disarmWrite();
  finishWrite(wrote, pendingOutput());
}

}  // namespace arkroute::http
