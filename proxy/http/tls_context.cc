// Client TLS context for HTTPS upstreams: TLS 1.2+, peer verification against ca_file or the
// system store. Hostname checks and SNI are set per connection (upstream_connection.cc).
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy/http/upstream.h"

namespace arkroute::http {

SSL_CTX* createClientTlsContext(const std::string& ca_file, bool verify, std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    *error = "cannot create a TLS context";
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                               : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    char text[256];
    ERR_error_string_n(ERR_get_error(), text, sizeof text);
    *error = (ca_file.empty() ? std::string("cannot load the system CA store: ")
                              : "cannot load ca_file '" + ca_file + "': ") +
             text;
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

}  // namespace arkroute::http
