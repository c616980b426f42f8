// The HTTP surface: maps method + path to a handler (images, models, health), with 404 for
// unknown paths and 405 (plus Allow) for known paths with the wrong method.
#pragma once

#include <memory>

#include "proxy/http/server.h"

namespace arkroute {

class Worker;

// Called by a worker for every complete request.
void dispatchRequest(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                     std::string request_id);

}  // namespace arkroute
