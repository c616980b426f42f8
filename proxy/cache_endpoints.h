// Cache-facing endpoints: GET /v1/images/cache/<id> (images behind gateway-issued URLs, with the
// type detected from the bytes, a strong ETag and immutable caching), and the admin API
// DELETE /admin/cache[?model=M] and GET /admin/cache/stats behind the admin token.
#pragma once

#include <memory>
#include <string>

#include "proxy/http/server.h"

namespace arkroute {

class Worker;

void handleCachedImage(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                       std::string request_id);
void handleAdminCachePurge(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                           std::string request_id);
void handleAdminCacheStats(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                           std::string request_id);

// Checks `Authorization: Bearer <admin token>` and, when the request names the database it means
// (kDatabaseHeader, from the CLI), that it is this gateway's; sends 404 (admin API disabled), 401
// or 409 (database_mismatch), and returns false when the caller may not proceed.
bool authorizeAdmin(Worker& worker, http::Exchange& exchange, const std::string& request_id);

}  // namespace arkroute
