// Per-connection TLS for upstream connections: the SSL object with SNI, the name or address the
// certificate must match, and read-ahead (socket_tls.h runs it over the socket); and the session
// cache that lets a pool's new connections resume TLS sessions.
#pragma once

#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_session_st SSL_SESSION;

namespace arkroute::http {

bool isIpLiteral(const std::string& host);

// A client SSL for host: SNI and hostname verification for DNS names, IP verification (and no
// SNI, which must not carry addresses) for IP literals. nullptr when OpenSSL fails.
SSL* newUpstreamSsl(SSL_CTX* ctx, const std::string& host);

// The latest TLS session a provider gave one pool's connections, offered to the pool's next
// connection so that its handshake resumes it: no certificate chain to send and verify, one round
// trip less in TLS 1.2. One per pool, because a pool is one host, port and TLS context (a session
// only stands for the certificate checks made for that host) and lives on one thread.
class TlsSessionCache {
 public:
  TlsSessionCache() = default;
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // Offers the cached session to ssl (before its handshake) and keeps the sessions it receives.
  // ssl must not outlive this cache.
  void attach(SSL* ssl);
  bool holdsSession() const { return session_ != nullptr; }

  // createClientTlsContext's callback for new sessions (client cache mode, no internal store).
  static int onNewSession(SSL* ssl, SSL_SESSION* session);

 private:
  SSL_SESSION* session_ = nullptr;
};

}  // namespace arkroute::http
