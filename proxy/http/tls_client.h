// Per-connection TLS for upstream connections: the SSL object with SNI and the name or address
// the certificate must match, the real reason when a handshake fails, and the two nudges a socket
// OpenSSL bufferevent of libevent 2.1 needs to read ahead and to write without a poll.
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

// newUpstreamSsl turns read-ahead on, so one read takes many TLS records, but libevent decrypts
// one record per read event: the rest wait in OpenSSL's buffer, where the socket's readiness no
// longer announces them. This runs bev's read event again while records wait (libevent reads
// nothing while reading is disabled: call it again when reading is turned back on).
void readBufferedTlsRecords(bufferevent* bev);

// libevent 2.1 writes new output of a socket OpenSSL bufferevent only once the socket reports
// writable, a poll round trip per request: this runs bev's write event now instead.
void writeTlsOutputNow(bufferevent* bev);

}  // namespace arkroute::http
