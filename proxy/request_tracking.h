// The start and end of every request a client socket sends, for observability: counts it in the
// in-flight gauge from dispatch until its exchange ends, and, for requests the generation
// pipeline does not report itself (models list, health, metrics, admin, 404s), hands a
// RequestRecord to Services::observers when the exchange ends, so every request gets its access-log
// line and its metrics; and the same for requests the HTTP server refuses before dispatch.
#pragma once

#include <string>

#include "proxy/http/server.h"

namespace arkroute {

class Worker;
struct Services;

// Called by dispatchRequest before the handler runs. pipeline_reports: the handler fills and
// reports its own RequestRecord (GenerationHandler::finish).
void trackRequest(Worker& worker, http::Exchange& exchange, const std::string& request_id,
                  bool pipeline_reports);

// Reports a RequestRecord for a request the HTTP server refused itself (400 malformed, 408, 413,
// 431, 501: HttpServer::onRejected), so it is counted and logged like any other; returns its
// request id, which the answer carries (the client's own when it sent a sane one).
std::string reportRejected(Services& services, int status, const http::Request& request,
                           uint64_t body_bytes);

}  // namespace arkroute
