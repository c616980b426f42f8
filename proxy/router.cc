// Builds the model → route table from the config.
#include "proxy/router.h"

namespace arkroute {

Router::Router(const Config& config) {
  routes_.reserve(config.models.size());
  for (const ModelConfig& model : config.models) {
    for (size_t i = 0; i < config.upstreams.size(); ++i) {
      if (config.upstreams[i].name != model.upstream) continue;
      by_name_.emplace(model.name, routes_.size());
      routes_.push_back(Route{&model, &config.upstreams[i], i});
      break;
    }
  }
}

const Route* Router::find(std::string_view model) const {
  auto it = by_name_.find(model);
  return it == by_name_.end() ? nullptr : &routes_[it->second];
}

}  // namespace arkroute
