// The `arkroute keys create|list|revoke` and `arkroute usage` subcommands. They open the state
// database directly when no gateway holds it, and otherwise go through the running gateway's admin
// API (the admin token from auth.admin_token_env).
#pragma once

#include <map>
#include <string>

namespace arkroute {

int runKeysCommand(const std::string& action, const std::map<std::string, std::string>& flags);
int runUsageCommand(const std::map<std::string, std::string>& flags);

}  // namespace arkroute
