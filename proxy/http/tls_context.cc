// Client TLS context for HTTPS upstreams: TLS 1.2+, peer verification against ca_file or the
// system store, client sessions handed to each pool's cache. SNI and hostname checks are set per
// connection (tls_client.cc).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/http/tls_client.h"
#include "proxy/http/upstream.h"

namespace arkroute::http {

namespace {

std::string takeOpenSslError() {
  unsigned long code = ERR_peek_last_error();
  char text[256] = "unknown OpenSSL error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

bool loadTrust(SSL_CTX* ctx, const std::string& ca_file, std::string* error) {
  if (ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) == 1) return true;
    *error = "cannot load the system CA store: " + takeOpenSslError();
    return false;
  }
  if (access(ca_file.c_str(), R_OK) != 0) {
    *error = "cannot read ca_file '" + ca_file + "': " + std::strerror(errno);
    return false;
  }
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) == 1) return true;
  *error = "cannot load ca_file '" + ca_file + "': " + takeOpenSslError();
  return false;
}

}  // namespace

SSL_CTX* createClientTlsContext(const std::string& ca_file, bool verify, std::string* error) {
  std::string ignored;
  if (!error) error = &ignored;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    *error = "cannot create a TLS context: " + takeOpenSslError();
    return nullptr;
  }
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    *error = "cannot require TLS 1.2: " + takeOpenSslError();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (!loadTrust(ctx, ca_file, error)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // Sessions go to the pool's TlsSessionCache, never to a cache shared across hosts.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &TlsSessionCache::onNewSession);
  return ctx;
}

}  // namespace arkroute::http
