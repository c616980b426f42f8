// The log phase of the image pipeline: finishing a request once (timers, queue place, upstream
// slot, budget reservation) and the record the access log, metrics and usage ledger read.
#include <event2/event.h>

#include "proxy/generation_handler.h"
#include "proxy/http/hex.h"
#include "proxy/key_limits.h"
#include "proxy/ops/metrics_values.h"
#include "proxy/services.h"
#include "proxy/upstream_gate.h"
#include "proxy/worker.h"

namespace arkroute {

void GenerationHandler::finish() {
  if (finished_) return;
  finished_ = true;
  if (background_id_) worker_.removeBackgroundWork(*background_id_);
  if (wait_timer_) evtimer_del(wait_timer_);
  if (retry_timer_) evtimer_del(retry_timer_);
  if (queue_timer_) evtimer_del(queue_timer_);
  if (queued_ && gate().cancel(queue_ticket_)) {
    queued_ = false;
    if (queue_depth_) queue_depth_->sub(1);
  }
  releaseSlot();
  if (upstream_started_ != std::chrono::steady_clock::time_point{}) {
    upstream_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                             upstream_started_)
                       .count();
  }
  worker_.services().reportFinished(makeRecord());
  worker_.scheduleLedgerFlush();
  if (reserved_usd_) worker_.services().key_limits->release(key_->id, *reserved_usd_);
  auto keep_alive_until_return = std::move(self_);
}

RequestRecord GenerationHandler::makeRecord() const {
  RequestRecord record;
  record.time_ms = arrived_ms_;
  record.request_id = request_id_;
  record.method = "POST";
  if (key_) {
    record.key_id = key_->id;
    record.key_name = key_->name;
  }
  record.path = exchange_->request().path;  // generations or edits (or MCP's generations)
  if (route_) {
    record.model = route_->model->name;
    record.upstream = upstream_name_;
  }
  // A client that left before its answer ended got none, also when the generation went on for the
  // cache (and the requests waiting for it): status 0, client_gone, charged as it spent.
  bool left = exchange_->clientGone() && (outcome_ == "client_gone" || background_id_);
  record.status = left ? 0 : status_;
  if (route_) record.cache_status = cache_status_;
  record.outcome = left ? std::string_view("client_gone") : std::string_view(outcome_);
  record.error_code = error_code_;
  bool paid = status_ == 200 || paid_not_delivered_;
  record.cost_usd = paid ? cost_usd_ : std::optional<double>(0.0);
  record.saved_usd = saved_usd_;
  record.images = status_ == 200 ? images_ : 0;
  if (request_) {
    // Only the access log reads it: no SHA-256 per request on the hot path when it is off.
    if (runtime_->config().log.access_log != "off") {
      record.prompt_sha256 = sha256Hex(request_->prompt());
    }
    if (runtime_->config().log.prompts) record.prompt = request_->prompt();
  }
  record.bytes_in = exchange_->request().body.size();
  record.bytes_out = exchange_->sentBodyBytes();
  record.upstream_ms = upstream_ms_;
  record.queue_ms = queue_ms_;
  record.total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
          .count();
  return record;
}

}  // namespace arkroute
