// Builds the model → route table from the config.
#include "proxy/router.h"

namespace arkroute {

Router::Router(const Config& config) {
  routes_.reserve(config.models.size());
  for (const ModelConfig& model : config.models) {
    for (size_t i = 0; i < config.upstreams.size(); ++i) {
      if (config.upstreams[i].name != model.upstream) continue;
      Route route{&model, &config.upstreams[i], i, {}, {}};
      for (const std::string& name : model.upstreams) {
        for (size_t j = 0; j < config.upstreams.size(); ++j) {
          if (config.upstreams[j].name != name) continue;
          route.upstream_names.push_back(name);
          route.upstream_indices.push_back(j);
        }
      }
      if (route.upstream_names.empty()) {
        route.upstream_names.push_back(model.upstream);
        route.upstream_indices.push_back(i);
      }
      by_name_.emplace(model.name, routes_.size());
      routes_.push_back(std::move(route));
      break;
    }
  }
}

const Route* Router::find(std::string_view model) const {
  auto it = by_name_.find(model);
  return it == by_name_.end() ? nullptr : &routes_[it->second];
}

}  // namespace arkroute
