// Config reload (SIGHUP): reads and validates the config file again and decides what of it can
// apply to a running gateway. Routes, models, prices, upstreams, auth, cache TTL/scope, the public
// URL and the drain timeout apply to new requests; the listen address, worker count, client limits,
// cache location/size/on-off and the access-log destination are bound at startup: a change to them
// is reported as needing a restart and the running value is kept.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "conf/config.h"

namespace arkroute {

struct ReloadPlan {
  std::shared_ptr<const Config> config;    // next, with every restart-only setting as it runs now
  std::vector<std::string> needs_restart;  // "server.listen", ... (changed but kept)
};

// Pure: what a reload from running to next does.
ReloadPlan planReload(const Config& running, Config next);

class ConfigReloader {
 public:
  // adjust applies command-line overrides (--listen) to every freshly loaded config, as at
  // startup; it returns false when they cannot apply.
  ConfigReloader(std::string path, std::function<bool(Config*)> adjust,
                 EnvLookup env = processEnvironment());

  // Loads the file again. On success returns the config to hand to Gateway::reload and writes
  // warnings and "needs a restart" notes to log; on failure writes every problem (file:line) to
  // log and returns nullptr: the running config stays.
  std::shared_ptr<const Config> load(const Config& running, std::ostream& log) const;

 private:
  std::string path_;
  std::function<bool(Config*)> adjust_;
  EnvLookup env_;
};

}  // namespace arkroute
