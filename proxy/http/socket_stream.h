// A TCP socket with an input and an output evbuffer: the hot-path replacement for libevent's
// bufferevents on client connections and on upstream connections, plain or TLS. Compared with a
// socket bufferevent it saves about seven system calls per proxied request:
//   - the read event stays registered (level-triggered) for the connection's life instead of
//     being toggled, and reads need no FIONREAD ioctl: the first read of an event goes through a
//     per-thread scratch buffer (a request fits), the next ones straight into the input buffer
//     with readv, up to the per-event read limit (libevent reads at most 4 KiB per event);
//   - writes are not armed through epoll: new output is written by a deferred callback at the end
//     of the current batch of events (so a response head and its body leave in one writev), and
//     the write event is registered only while the socket's send buffer is full.
// With an SSL object the stream speaks TLS (socket_tls.h): it runs the handshake first and reports
// BEV_EVENT_CONNECTED when it is done, then input() and output() hold plaintext. A read event
// decrypts up to its budget of records, which OpenSSL read ahead in few system calls, so a large
// answer over TLS reaches the handler in as few pieces as over plain TCP.
// Callbacks come only from libevent callbacks, never from inside a call on the stream, and each is
// the last thing its callback does, so a handler may destroy the stream inside one.
#pragma once

#include <event2/bufferevent.h>  // BEV_EVENT_* flags, shared with bufferevent users
#include <event2/event.h>

#include <chrono>
#include <cstddef>
#include <memory>

#include "proxy/http/socket_tls.h"

struct evbuffer;

namespace arkroute::http {

class SocketStream {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void onStreamRead() = 0;     // new bytes are in input()
    virtual void onStreamWritten() = 0;  // a write left output() at or below the low watermark
    // BEV_EVENT_EOF / BEV_EVENT_ERROR (errno is the socket error, 0 or EPROTO for a TLS failure)
    // / BEV_EVENT_TIMEOUT, with BEV_EVENT_READING or BEV_EVENT_WRITING: the stream stops reading
    // (or writing) first. BEV_EVENT_CONNECTED: a TLS stream finished its handshake.
    virtual void onStreamEvent(short what) = 0;
  };

  // Takes ownership of fd (non-blocking, connected) and starts reading; with tls (owned too),
  // starts its handshake.
  SocketStream(event_base* base, evutil_socket_t fd, Handler& handler, SSL* tls = nullptr);
  ~SocketStream();  // closes the socket
  SocketStream(const SocketStream&) = delete;
  SocketStream& operator=(const SocketStream&) = delete;

  evbuffer* input() const { return input_; }
  evbuffer* output() const { return output_; }
  evutil_socket_t fd() const { return fd_; }
  const SocketTls* tls() const { return tls_.get(); }  // nullptr for plain TCP

  // Reading stops while input() holds read_limit bytes (0 = no limit); one read event reads at
  // most max_per_event bytes.
  void setReadLimits(size_t read_limit, size_t max_per_event);
  void setWriteTimeout(std::chrono::milliseconds timeout);  // while output waits for the socket
  void setWriteLowWatermark(size_t bytes) { low_watermark_ = bytes; }
  void setMaxSingleWrite(size_t bytes) { max_single_write_ = bytes; }

  void enableRead();
  void disableRead();
  // Re-enables reading when the owner has consumed input below the read limit.
  void inputConsumed();
  // New bytes are in output(): written at the end of the current batch of events.
  void flushSoon();
  // Stops reading and writing for good (the connection is being closed or aborted); pending output
  // is left unsent.
  void stop();
  // Writes as much of output() as the socket takes now, with no callback: the last bytes before an
  // abort (plain TCP only; over TLS nothing is written).
  void writeWhatTheSocketTakes();
  bool writable() const { return !write_failed_ && !stopped_; }
  // Bytes not yet written to the socket: output(), and in TLS mode the records encrypted from it.
  size_t pendingOutput() const;
  // True when bytes may be waiting that input() does not show yet: the last read stopped at its
  // budget (the socket may hold more), or OpenSSL holds records, or part of one, not decrypted.
  bool mayHoldUnreadInput() const;

 private:
  static void onReadEvent(evutil_socket_t, short, void* arg);
  static void onWriteEvent(evutil_socket_t, short what, void* arg);
  static void onFlushEvent(evutil_socket_t, short, void* arg);

  enum class WriteResult { kEmptied, kSocketFull, kFailed };

  void readNow();
  void writeNow();
  size_t readBudget() const;
  // Writes buffer until it is empty or the socket is full (the write event is armed then);
  // kFailed after a write error, which has been reported (the stream may be gone).
  WriteResult writeOut(evbuffer* buffer, bool* wrote);
  void finishWrite(bool wrote, size_t left);
  // TLS mode (socket_stream_tls.cc).
  void readTlsNow();
  void writeTlsNow();
  void continueHandshake();
  void rerunTlsRead();
  void updateReadRegistration();
  void armWrite();
  void disarmWrite();
  void failWith(short what);

  event_base* base_;
  evutil_socket_t fd_;
  Handler& handler_;
  evbuffer* input_;
  evbuffer* output_;
  event* read_event_;
  event* write_event_;
  event* flush_event_;
  std::chrono::milliseconds write_timeout_{0};
  size_t read_limit_ = 0;
  size_t max_read_per_event_ = 256 * 1024;
  size_t low_watermark_ = 0;
  size_t max_single_write_ = 1024 * 1024;
  std::unique_ptr<SocketTls> tls_;
  short held_failure_ = 0;  // TLS: an end or error found after data, reported by the next event
  int held_errno_ = 0;
  bool mid_body_ = false;  // the last read event stopped at its budget with data left unread
  bool read_wanted_ = true;
  bool read_registered_ = false;
  bool write_armed_ = false;
  bool flush_pending_ = false;
  bool write_failed_ = false;
  bool stopped_ = false;
};

}  // namespace arkroute::http
