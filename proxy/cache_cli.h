// `arkroute cache stats|purge [--model M] --config FILE`: works on the cache database directly
// when no gateway holds it, and through the running gateway's admin API (auth.admin_token_env)
// when one does.
#pragma once

#include <map>
#include <string>

namespace arkroute {

// Returns the process exit code; prints results to stdout and problems to stderr.
int runCacheCommand(const std::string& action, const std::map<std::string, std::string>& flags);

}  // namespace arkroute
