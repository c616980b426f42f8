// Per-connection TLS setup for upstream connections (see tls_client.h).
#include "proxy/http/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace arkroute::http {

namespace {

constexpr size_t kReadAheadBytes = 256 * 1024;

int sessionCacheIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

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
  // record (header, then body). The buffer is released while empty.
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, kReadAheadBytes);
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  return ssl;
}

TlsSessionCache::~TlsSessionCache() {
  if (session_) SSL_SESSION_free(session_);
}

void TlsSessionCache::attach(SSL* ssl) {
  SSL_set_ex_data(ssl, sessionCacheIndex(), this);
  if (session_) SSL_set_session(ssl, session_);  // a server that refuses it gets a full handshake
}

int TlsSessionCache::onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* cache = static_cast<TlsSessionCache*>(SSL_get_ex_data(ssl, sessionCacheIndex()));
  if (!cache || SSL_SESSION_is_resumable(session) != 1) return 0;
  if (cache->session_) SSL_SESSION_free(cache->session_);
  cache->session_ = session;
  return 1;  // the reference is the cache's now
}

}  // namespace arkroute::http
