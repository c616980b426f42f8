// Per-connection TLS for upstream connections: the SSL object with SNI, the name or address the
// certificate must match, and read-ahead (socket_tls.h runs it over the socket).
#pragma once

#include <string>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace arkroute::http {

bool isIpLiteral(const std::string& host);

// A client SSL for host: SNI and hostname verification for DNS names, IP verification (and no
// SNI, which must not carry addresses) for IP literals. nullptr when OpenSSL fails.
SSL* newUpstreamSsl(SSL_CTX* ctx, const std::string& host);

}  // namespace arkroute::http
