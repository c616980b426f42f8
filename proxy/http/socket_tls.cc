// TLS on a non-blocking socket through a BIO of our own (see socket_tls.h), and the reasons given
// when a handshake or a stream fails.
#include "proxy/http/socket_tls.h"

#include <event2/buffer.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "proxy/http/buffer_fill.h"

namespace arkroute::http {

namespace {

// The first error with a library: the queue may also hold bare SSL_get_error()-style codes.
unsigned long takeFirstTlsError() {
  unsigned long first = 0;
  while (unsigned long error = ERR_get_error()) {
    if (first == 0 && ERR_GET_LIB(error) != 0) first = error;
  }
  return first;
}

std::string errorText(unsigned long error) {
  char text[256];
  ERR_error_string_n(error, text, sizeof text);
  return text;
}

// Why a handshake failed; "" when OpenSSL recorded nothing (the failure was in the socket).
std::string handshakeFailure(SSL* ssl) {
  long verify = SSL_get_verify_result(ssl);
  unsigned long first = takeFirstTlsError();
  if (verify != X509_V_OK) {
    return std::string("TLS certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  if (first == 0) return "";
  std::string reason = "TLS handshake failed: " + errorText(first);
  // What OpenSSL says when the first bytes back are not a TLS record, e.g. an HTTP answer.
  if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
      (ERR_GET_REASON(first) == SSL_R_WRONG_VERSION_NUMBER ||
       ERR_GET_REASON(first) == SSL_R_PACKET_LENGTH_TOO_LONG)) {
    reason +=
        " (the server does not speak TLS on this port: for a plain-HTTP upstream, use an "
        "http:// base_url)";
  }
  return reason;
}

long bioControl(BIO* bio, int command, long, void*) {
  auto* tls = static_cast<SocketTls*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return tls != nullptr && tls->sawEof() ? 1 : 0;
    default:
      return 0;
  }
}

int bioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socketBioMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* created =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "arkroute-socket");
    BIO_meth_set_read(created, &SocketTls::bioRead);
    BIO_meth_set_write(created, &SocketTls::bioWrite);
    BIO_meth_set_ctrl(created, &bioControl);
    BIO_meth_set_create(created, &bioCreate);
    return created;
  }();
  return method;
}

}  // namespace

SocketTls::SocketTls(SSL* ssl, evutil_socket_t fd)
    : ssl_(ssl), fd_(fd), ciphertext_(evbuffer_new()) {
  BIO* bio = BIO_new(socketBioMethod());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference, both directions
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_connect_state(ssl_);
}

SocketTls::~SocketTls() {
  // OpenSSL makes the session of an SSL freed without a sent close_notify unresumable. A connection
  // that ends without a TLS error (idle timeout, the provider closing it) keeps it usable for the
  // pool's next connection; a TLS error (and every fatal alert) still discards it.
  if (established_ && failure_.empty()) {
    SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
  }
  SSL_free(ssl_);
  evbuffer_free(ciphertext_);
}

int SocketTls::bioRead(BIO* bio, char* data, int size) {
  auto* self = static_cast<SocketTls*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->drained_) {
    BIO_set_retry_read(bio);
    return -1;
  }
  ssize_t got = ::read(self->fd_, data, static_cast<size_t>(size));
  if (got < 0 && wouldBlock(errno)) {
    self->drained_ = true;
    BIO_set_retry_read(bio);
    return -1;
  }
  if (got == 0) self->eof_ = true;
  if (got > 0 && got < size) self->drained_ = true;  // the socket had no more
  return static_cast<int>(got);
}

int SocketTls::bioWrite(BIO* bio, const char* data, int size) {
  auto* self = static_cast<SocketTls*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (evbuffer_add(self->ciphertext_, data, static_cast<size_t>(size)) != 0) return -1;
  return size;
}

SocketTls::Step SocketTls::handshake() {
  ERR_clear_error();
  int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    established_ = true;
    return Step::kDone;
  }
  int socket_error = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      return Step::kWantRead;
    default:
      failure_ = handshakeFailure(ssl_);
      errno = eof_ || !failure_.empty() ? 0 : socket_error;
      return Step::kFailed;
  }
}

// Decrypts into data until size bytes or the first call that returns nothing.
size_t SocketTls::fill(char* data, size_t size) {
  size_t filled = 0;
  ERR_clear_error();
  while (filled < size) {
    size_t got = 0;
    last_result_ = SSL_read_ex(ssl_, data + filled, size - filled, &got);
    if (last_result_ != 1) {
      last_errno_ = errno;
      break;
    }
    filled += got;
  }
  return filled;
}

ssize_t SocketTls::read(evbuffer* buffer, size_t want) {
  ssize_t got = appendFrom(buffer, want, [this](iovec* vectors, int count) -> ssize_t {
    size_t total = 0;
    for (int i = 0; i < count; ++i) {
      size_t filled = fill(static_cast<char*>(vectors[i].iov_base), vectors[i].iov_len);
      total += filled;
      if (filled < vectors[i].iov_len) break;
    }
    return static_cast<ssize_t>(total);
  });
  return got == 0 ? fromSslError(last_result_, last_errno_) : got;
}

ssize_t SocketTls::write(evbuffer* output) {
  evbuffer_iovec pieces[4];
  int count = std::min(evbuffer_peek(output, -1, nullptr, pieces, 4), 4);
  const evbuffer_iovec* first =
      std::find_if(pieces, pieces + std::max(count, 0),
                   [](const evbuffer_iovec& piece) { return piece.iov_len > 0; });
  if (first == pieces + std::max(count, 0)) return 0;
  ERR_clear_error();
  size_t sent = 0;
  // Partial-write mode: one record per call (the piece may be a whole upload).
  int result = SSL_write_ex(ssl_, first->iov_base, first->iov_len, &sent);
  if (result != 1) return fromSslError(result, errno);
  evbuffer_drain(output, sent);
  return static_cast<ssize_t>(sent);
}

ssize_t SocketTls::fromSslError(int result, int socket_error) {
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;  // close_notify
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (eof_ || socket_error == 0) return 0;  // closed without close_notify
      errno = socket_error;
      return -1;
    default:
      if (eof_) {
        ERR_clear_error();
        return 0;  // OpenSSL 3 reports a close without close_notify as an error: it is an end
      }
      failure_ = "TLS error: " + errorText(takeFirstTlsError());
      errno = EPROTO;
      return -1;
  }
}

bool SocketTls::hasBufferedRecords() const {
  return SSL_has_pending(ssl_) == 1;
}

bool SocketTls::closedWithNotify() const {
  return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
}

}  // namespace arkroute::http
