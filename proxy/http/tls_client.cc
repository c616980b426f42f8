// Per-connection TLS setup and handshake failure reasons (see tls_client.h).
#include "proxy/http/tls_client.h"

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace arkroute::http {

namespace {
constexpr size_t kReadAheadBytes = 64 * 1024;
}  // namespace

bool isIpLiteral(const std::string& host) {
  in6_addr address;
  return inet_pton(AF_INET, host.c_str(), &address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

SSL* newUpstreamSsl(SSL_CTX* ctx, const std::string& host) {
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return nullptr;
  bool ok = isIpLiteral(host)
                ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1
                : SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
                      SSL_set1_host(ssl, host.c_str()) == 1;
  if (!ok) {
    SSL_free(ssl);
    return nullptr;
  }
  // Read what the socket holds, up to kReadAheadBytes, in one system call instead of two per TLS
  // record (header, then body); see readBufferedTlsRecords. The buffer is released while idle.
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, kReadAheadBytes);
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  return ssl;
}

std::string tlsFailureReason(bufferevent* bev) {
  SSL* ssl = bufferevent_openssl_get_ssl(bev);
  long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  unsigned long first = 0;
  // libevent queues SSL_get_error() codes (library 0) next to the real OpenSSL errors: skip them.
  while (unsigned long error = bufferevent_get_openssl_error(bev)) {
    if (first == 0 && ERR_GET_LIB(error) != 0) first = error;
  }
  if (verify != X509_V_OK) {
    return std::string("TLS certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  if (first == 0) return "";
  char text[256];
  ERR_error_string_n(first, text, sizeof text);
  std::string reason = std::string("TLS handshake failed: ") + text;
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

void readBufferedTlsRecords(bufferevent* bev) {
  SSL* ssl = bufferevent_openssl_get_ssl(bev);
  if (ssl && SSL_has_pending(ssl)) event_active(&bev->ev_read, EV_READ, 1);
}

void writeTlsOutputNow(bufferevent* bev) {
  event_active(&bev->ev_write, EV_WRITE, 1);
}

}  // namespace arkroute::http
