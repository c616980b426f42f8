// Money endpoints: GET /v1/usage (the caller's own spend, savings and balance), and behind the
// admin token GET /admin/usage (everyone), POST /admin/keys (create; the secret is in the answer
// once), GET /admin/keys (list with spend) and DELETE /admin/keys/<id> (revoke).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "proxy/api_error.h"
#include "proxy/http/server.h"
#include "proxy/virtual_keys.h"

namespace arkroute {

class Worker;
struct KeySpec;

// Why creating a key from spec failed with error: 400 when the spec itself is unacceptable, else
// 503 key_not_created (the database could not store it, or the random generator failed).
ApiError keyCreateRefusal(const KeySpec& spec, int64_t now_ms, const std::string& error);

// Why revoking key id failed: 404 key_not_found when there is no such key, else 503: the key
// exists and still works, since its revocation could not be stored (a full disk).
ApiError keyRevokeRefusal(const KeyRegistry& keys, std::string_view id, const std::string& error);

// With auth.mode = "keys": the caller's virtual key into *key, or false once a 401 is answered.
// True, with no key, in the other modes.
bool readCallerKey(Worker& worker, http::Exchange& exchange, const std::string& request_id,
                   std::optional<VirtualKey>* key);

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
