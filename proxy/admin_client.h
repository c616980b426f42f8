// The CLI's way to the gateway's state: the database itself when it exists and is not locked, else
// one blocking HTTP/1.0 request to the running gateway's admin API (listen address, admin token).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace arkroute {

// The header every admin request of the CLI carries: the canonical path of the database it means
// (RocksDatabase::canonicalPath of its cache.path). A gateway keeping another database refuses the
// request (409 database_mismatch): a purge or a key meant for one gateway never reaches another
// that happens to listen where the config says.
inline constexpr std::string_view kDatabaseHeader = "X-ArkRoute-Database";

// Returns the response body and sets *status, or nullopt when the gateway is unreachable.
std::optional<std::string> adminRequest(const Config& config, const std::string& method,
                                        const std::string& path, int* status,
                                        const std::string& json_body = "");

// --url http://HOST:PORT (if given) as where the CLI finds a running gateway's admin API instead
// of server.listen; false, after saying why on stderr, when it is malformed.
bool applyUrlFlag(const std::map<std::string, std::string>& flags, std::string_view command,
                  Config* config);

// Nothing when the database at cache.path exists; else why the CLI will not use it. The CLI never
// creates one: a relative path run from another directory would otherwise give it a new, empty
// database (keys the gateway never sees, usage and stats of nothing).
std::optional<std::string> missingDatabase(const std::string& path);

}  // namespace arkroute
