// TLS on a non-blocking socket, for SocketStream's TLS mode: the SSL object over a BIO of
// ArkRoute's own. Its reads go to the socket directly: OpenSSL reads ahead (many records per system
// call), and once a read in the current event came back short the socket counts as drained, so
// the next read returns "would block" without a system call and an event ends without the extra
// read that only says EAGAIN (the socket's level-triggered read event comes back when data
// arrives). Its writes go to ciphertext(), which the stream writes to the socket with writev like
// plain output: many records per system call, and OpenSSL never waits for the socket. Reads
// decrypt as many records as asked for, not one per call.
#pragma once

#include <event2/util.h>
#include <sys/types.h>

#include <string>

struct bio_st;
struct evbuffer;
typedef struct ssl_st SSL;

namespace arkroute::http {

class SocketTls {
 public:
  enum class Step { kDone, kWantRead, kFailed };

  // Takes ownership of ssl (a client SSL, see newUpstreamSsl); fd stays the caller's.
  SocketTls(SSL* ssl, evutil_socket_t fd);
  ~SocketTls();
  SocketTls(const SocketTls&) = delete;
  SocketTls& operator=(const SocketTls&) = delete;

  // A new event from the socket: it may have data again.
  void newEvent() { drained_ = false; }

  Step handshake();
  bool established() const { return established_; }

  // Decrypts up to want bytes into buffer. Returns the bytes added (> 0), 0 at the end of the
  // stream (the peer's close_notify, or the connection closed without one: see
  // closedWithNotify), or -1 with errno: EAGAIN when the socket is drained, another errno for a
  // socket error, EPROTO for a TLS error (failure() says which).
  ssize_t read(evbuffer* buffer, size_t want);
  // Encrypts a record's worth of the start of output into ciphertext() (what it took is drained).
  // Returns the plaintext bytes taken, or -1 with errno as for read (EAGAIN: OpenSSL must read
  // first, e.g. a TLS 1.2 renegotiation).
  ssize_t write(evbuffer* output);
  // Records waiting to be written to the socket: handshake messages, alerts, encrypted output.
  evbuffer* ciphertext() const { return ciphertext_; }
  bool hasBufferedRecords() const;  // read ahead but not decrypted yet: no socket event comes
  bool closedWithNotify() const;
  // Why the handshake or the stream failed: "TLS certificate verify failed: ...",
  // "TLS handshake failed: <OpenSSL error>", "TLS error: <OpenSSL error>", or "" when the failure
  // was in the socket.
  const std::string& failure() const { return failure_; }

  // The BIO's callbacks (socket_tls.cc).
  static int bioRead(bio_st* bio, char* data, int size);
  static int bioWrite(bio_st* bio, const char* data, int size);
  bool sawEof() const { return eof_; }

 private:
  size_t fill(char* data, size_t size);
  ssize_t fromSslError(int result, int socket_error);

  SSL* ssl_;
  evutil_socket_t fd_;
  evbuffer* ciphertext_;
  std::string failure_;
  int last_result_ = 0;  // of fill's last SSL_read_ex, and the errno it left
  int last_errno_ = 0;
  bool drained_ = false;  // a read of this event came back short: the socket has no more
  bool eof_ = false;
  bool established_ = false;
};

}  // namespace arkroute::http
