// Coalesced refusals: a call made for waiting identical requests that ends in a failure a repeat
// would meet too (the provider failing or rate-limited: a 5xx or 429, a timeout, a connection
// error, a full shaping queue) hands that answer to every waiter, instead of one waiter after
// another repeating the call, a timeout or a billed failure costing each of them. A waiter's client
// (or its SDK) decides whether to try again, and identical retries coalesce again.
//
// Waiters share the cache key, not the whole request: `stream`, `user`, forwarded headers and, in
// passthrough mode, the caller's own key are outside it. So a 4xx other than 429 (which may come
// from those), any answer in passthrough mode, a fallback model's answer (a waiter's key may not
// use it) and the answer of a writer whose client left (it no longer retries or falls back, as a
// waiter would) are handed over to one waiter instead.
#include "proxy/generation_handler.h"
#include "proxy/generation_headers.h"
#include "proxy/pricing.h"
#include "proxy/secret_mask.h"

namespace arkroute {

// The provider's error answer as the client got it: its returnable headers and its body with the
// provider key masked. A body longer than the tail kept is not shared: one waiter takes over.
void GenerationHandler::refuseWaitersWithAnswer() {
  if (!permit_) return;
  bool shared = status_ == 429 || status_ >= 500;
  if (!shared || !refusal_headers_ || !body_tail_.whole()) {
    permit_.reset();
    return;
  }
  std::string body(body_tail_.view());
  maskSecret(gatewayProviderKey(), &body);
  refuseWaiters(status_, *refusal_headers_, std::move(body));
}

void GenerationHandler::refuseWaiters(const ApiError& error) {
  if (!permit_) return;
  http::Headers headers;
  headers.set("Content-Type", "application/json");
  if (error.retry_after_ms > 0) {
    headers.set("retry-after", std::to_string((error.retry_after_ms + 999) / 1000));
  }
  if (error.no_retry) headers.set("x-should-retry", "false");
  refuseWaiters(error.status, headers, error.toJson());
}

void GenerationHandler::refuseWaiters(int status, const http::Headers& headers, std::string body) {
  if (!permit_) return;
  if (share_only_ || exchange_->clientGone() ||
      runtime_->config().auth.mode == AuthMode::kPassthrough) {
    permit_.reset();
    return;
  }
  auto answer = std::make_shared<cache::Coalescer::ErrorAnswer>();
  answer->status = status;
  for (const auto& [name, value] : headers) answer->headers.emplace_back(name, value);
  answer->body = std::move(body);
  permit_->refused(std::move(answer));
  permit_.reset();
}

// This request waited for a call that ended in answer: it gives the same, having made no call
// ($0), as a COALESCED upstream_error.
void GenerationHandler::answerRefused(const cache::Coalescer::ErrorAnswer& answer) {
  status_ = answer.status;
  cache_status_ = "COALESCED";
  outcome_ = "upstream_error";
  error_code_ = providerErrorCode(answer.body);
  cost_usd_ = 0.0;
  if (!exchange_->clientGone()) {
    http::Headers headers;
    for (const auto& [name, value] : answer.headers) headers.add(name, value);
    headers.add("x-request-id", request_id_);
    headers.add("X-ArkRoute-Model", route_->model->name);
    headers.add("X-ArkRoute-Cache", cache_status_);
    headers.add("X-ArkRoute-Cost-USD", formatUsd(0.0));
    addCommonHeaders(&headers);
    exchange_->respond(status_, headers, answer.body);
  }
  finish();
}

}  // namespace arkroute
