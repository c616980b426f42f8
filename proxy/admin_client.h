// The CLI's way into a running gateway: one blocking HTTP/1.0 request to its admin API on the
// configured listen address, with the admin token. Used when the gateway holds the database lock.
#pragma once

#include <optional>
#include <string>

#include "conf/config.h"

namespace arkroute {

// Returns the response body and sets *status, or nullopt when the gateway is unreachable.
std::optional<std::string> adminRequest(const Config& config, const std::string& method,
                                        const std::string& path, int* status,
                                        const std::string& json_body = "");

}  // namespace arkroute
