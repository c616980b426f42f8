// The route phase: maps a client's model name to the upstream that serves it, the model name the
// upstream expects, and the model's cache policy. Built once per Config; read-only afterwards.
#pragma once

#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/config.h"

namespace arkroute {

struct Route {
  const ModelConfig* model = nullptr;
  const UpstreamConfig* upstream = nullptr;
  size_t upstream_index = 0;  // index into Config::upstreams (and each worker's pools)
  // Every upstream serving the model (the primary first), for least-loaded choice.
  std::vector<std::string> upstream_names;
  std::vector<size_t> upstream_indices;
};

class Router {
 public:
  explicit Router(const Config& config);
  // nullptr when the model is not configured.
  const Route* find(std::string_view model) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::unordered_map<std::string_view, size_t> by_name_;
};

}  // namespace arkroute
