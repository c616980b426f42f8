// Runtime construction: one verified TLS client context per HTTPS upstream.
#include "proxy/runtime.h"

#include <openssl/ssl.h>

#include "proxy/http/upstream.h"

namespace arkroute {

Runtime::Runtime(std::shared_ptr<const Config> config)
    : config_(std::move(config)), router_(*config_) {}

Runtime::~Runtime() {
  for (SSL_CTX* ctx : tls_contexts_) {
    if (ctx) SSL_CTX_free(ctx);
  }
}

std::shared_ptr<const Runtime> Runtime::create(std::shared_ptr<const Config> config,
                                               std::string* error) {
  std::shared_ptr<Runtime> runtime(new Runtime(std::move(config)));
  for (const UpstreamConfig& upstream : runtime->config_->upstreams) {
    SSL_CTX* ctx = nullptr;
    if (upstream.tls || upstream.api == UpstreamApi::kKling) {  // Kling's images may be https
      std::string tls_error;
      ctx = http::createClientTlsContext(upstream.ca_file, upstream.tls_verify, &tls_error);
      if (!ctx) {
        *error = "upstream '" + upstream.name + "': " + tls_error;
        return nullptr;
      }
    }
    runtime->tls_contexts_.push_back(ctx);
  }
  return runtime;
}

}  // namespace arkroute
