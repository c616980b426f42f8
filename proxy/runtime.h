// What every worker thread shares read-only while a config is in force: the Config, its Router
// and one TLS client context per HTTPS upstream. Built by Runtime::create from a loaded Config.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/router.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace arkroute {

class Runtime {
 public:
  // nullptr and *error set when a TLS context cannot be built (e.g. unreadable ca_file).
  static std::shared_ptr<const Runtime> create(std::shared_ptr<const Config> config,
                                               std::string* error);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Config& config() const { return *config_; }
  const Router& router() const { return router_; }
  // TLS context for upstream i, nullptr for plain-HTTP upstreams.
  SSL_CTX* tlsContext(size_t upstream_index) const { return tls_contexts_[upstream_index]; }

 private:
  explicit Runtime(std::shared_ptr<const Config> config);

  std::shared_ptr<const Config> config_;
  Router router_;
  std::vector<SSL_CTX*> tls_contexts_;
};

}  // namespace arkroute
