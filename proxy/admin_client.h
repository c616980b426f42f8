// The CLI's way to the gateway's state: the database itself when it exists and is not locked, else
// one blocking HTTP/1.0 request to the running gateway's admin API (listen address, admin token).
#pragma once

#include <optional>
#include <string>

#include "conf/config.h"

namespace arkroute {

// Returns the response body and sets *status, or nullopt when the gateway is unreachable.
std::optional<std::string> adminRequest(const Config& config, const std::string& method,
                                        const std::string& path, int* status,
                                        const std::string& json_body = "");

// Nothing when the database at cache.path exists; else why the CLI will not use it. The CLI never
// creates one: a relative path run from another directory would otherwise give it a new, empty
// database (keys the gateway never sees, usage and stats of nothing).
std::optional<std::string> missingDatabase(const std::string& path);

}  // namespace arkroute
