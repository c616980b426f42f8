// Money endpoints: GET /v1/usage (the caller's own spend, savings and balance), and behind the
// admin token GET /admin/usage (everyone), POST /admin/keys (create; the secret is in the answer
// once), GET /admin/keys (list with spend) and DELETE /admin/keys/<id> (revoke).
#pragma once

#include <memory>
#include <string>

#include "proxy/http/server.h"

namespace arkroute {

class Worker;

void handleUsage(Worker& worker, std::shared_ptr<http::Exchange> exchange, std::string request_id);
void handleAdminUsage(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                      std::string request_id);
void handleAdminKeyCreate(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                          std::string request_id);
void handleAdminKeyList(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                        std::string request_id);
void handleAdminKeyRevoke(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                          std::string request_id);

}  // namespace arkroute
