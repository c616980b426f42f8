// Per-connection TLS for upstream connections: the SSL object with SNI and the name or address
// the certificate must match, and the real reason when a handshake fails.
#pragma once

#include <string>

struct bufferevent;
typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace arkroute::http {

bool isIpLiteral(const std::string& host);

// A client SSL for host: SNI and hostname verification for DNS names, IP verification (and no
// SNI, which must not carry addresses) for IP literals. nullptr when OpenSSL fails.
SSL* newUpstreamSsl(SSL_CTX* ctx, const std::string& host);

// Why the TLS layer of an OpenSSL bufferevent failed: "TLS certificate verify failed: <reason>"
// when verification failed, else "TLS handshake failed: <OpenSSL error>" (with a hint when the
// server answered in plain text), or "" when OpenSSL recorded nothing (the failure was in the
// socket). Drains the bufferevent's OpenSSL errors.
std::string tlsFailureReason(bufferevent* bev);

}  // namespace arkroute::http
