// In-flight counting and RequestRecords for requests outside the generation pipeline.
#include "proxy/request_tracking.h"

#include <chrono>

#include "proxy/ops/metrics_requests.h"
#include "proxy/responses.h"
#include "proxy/services.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {

std::string_view outcomeFor(int status) {
  if (status == 0) return "client_gone";
  if (status >= 500) return "internal_error";
  if (status >= 400) return "client_error";
  return "ok";
}

}  // namespace

void trackRequest(Worker& worker, http::Exchange& exchange, const std::string& request_id,
                  bool pipeline_reports) {
  Services& services = worker.services();
  if (services.metrics) services.metrics->inFlight().add(1);
  if (pipeline_reports || services.observers.empty()) {
    // The generation pipeline reports its own record: only the in-flight count to undo (a
    // capture small enough for std::function to hold without allocating).
    if (services.metrics) {
      exchange.onEnded([&services](const http::Exchange&) { services.metrics->inFlight().sub(1); });
    }
    return;
  }
  auto started = std::chrono::steady_clock::now();
  int64_t arrived_ms = services.now_ms ? services.now_ms() : 0;
  exchange.onEnded([&services, request_id, started, arrived_ms](const http::Exchange& ended) {
    if (services.metrics) services.metrics->inFlight().sub(1);
    const http::Request& request = ended.request();
    RequestRecord record;
    record.time_ms = arrived_ms;
    record.request_id = request_id;
    record.method = request.method;
    record.path = request.path;
    record.status = ended.finished() ? ended.sentStatus() : 0;
    record.outcome = outcomeFor(record.status);
    if (!ended.errorCode().empty()) record.error_code = ended.errorCode();
    record.bytes_in = request.body.size();
    record.bytes_out = ended.sentBodyBytes();
    record.total_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    services.reportFinished(record);
  });
}

std::string reportRejected(Services& services, int status, const http::Request& request,
                           uint64_t body_bytes) {
  std::string request_id = requestIdFor(request);
  if (services.observers.empty()) return request_id;
  RequestRecord record;
  record.time_ms = services.now_ms ? services.now_ms() : 0;
  record.request_id = request_id;
  record.method = request.method;
  record.path = request.path;
  record.status = status;
  record.outcome = "client_error";  // 501 too: a transfer coding the client chose
  record.error_code = serverErrorCode(status);
  record.bytes_in = request.body.size();
  record.bytes_out = body_bytes;
  services.reportFinished(record);
  return request_id;
}

}  // namespace arkroute
