// The upstream phase of the generation pipeline: admission (budget), choosing an upstream among
// those serving the model (least-loaded, skipping ejected ones), shaping (waiting for a slot in
// the upstream's queue), forwarding with streaming and backpressure, and — only while nothing has
// reached the client — retries with exponential backoff and jitter (honouring retry-after) on
// connect errors, 429 and 5xx, then the model's fallbacks in order.
#include <event2/buffer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

#include "proxy/body_rewrite.h"
#include "proxy/cached_images.h"
#include "proxy/generation_handler.h"
#include "proxy/generation_headers.h"
#include "proxy/kling_call.h"
#include "proxy/ops/metrics_requests.h"
#include "proxy/pricing.h"
#include "proxy/responses.h"
#include "proxy/seedream_edit.h"
#include "proxy/services.h"
#include "proxy/upstream_gate.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {

// Responses (a JSON body; a stream's completed images and current event) above this pass through
// uncached: the most a request holds in memory for the cache.
constexpr size_t kCaptureLimit = 256u << 20;

bool retryableStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool retryableError(const http::UpstreamError& error) {
  using Kind = http::UpstreamError::Kind;
  if (error.head_received) return false;
  return error.kind == Kind::kConnect || error.kind == Kind::kDns || error.kind == Kind::kReset;
}

// retry-after-ms, else retry-after in seconds (an HTTP date is ignored); 0 when absent.
int64_t retryAfterMs(const http::Headers& headers) {
  if (auto ms = headers.find("retry-after-ms")) {
    return std::max<int64_t>(0, std::atoll(std::string(*ms).c_str()));
  }
  if (auto seconds = headers.find("retry-after")) {
    double value = std::atof(std::string(*seconds).c_str());
    if (value > 0) return static_cast<int64_t>(value * 1000);
  }
  return 0;
}

// The body length a response head announces (Content-Length without chunked framing).
std::optional<uint64_t> bodyLength(const http::Headers& headers) {
  auto content_length = headers.find("content-length");
  if (!content_length || headers.has("transfer-encoding")) return std::nullopt;
  uint64_t value = 0;
  std::from_chars(content_length->data(), content_length->data() + content_length->size(), value);
  return value;
}

// Copies data's bytes into the capture chunk by chunk (no linearising of the buffer first).
void captureChunks(ResponseCapture& capture, evbuffer* data) {
  int count = evbuffer_peek(data, -1, nullptr, nullptr, 0);
  if (count <= 0) return;
  std::vector<evbuffer_iovec> chunks(static_cast<size_t>(count));
  evbuffer_peek(data, -1, nullptr, chunks.data(), count);
  for (const evbuffer_iovec& chunk : chunks) {
    capture.append(std::string_view(static_cast<const char*>(chunk.iov_base), chunk.iov_len));
  }
}

double jitter() {
  thread_local std::mt19937 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.5, 1.0)(random);
}

}  // namespace

const UpstreamConfig& GenerationHandler::upstream() const {
  return runtime_->config().upstreams[upstream_index_];
}

UpstreamGate& GenerationHandler::gate() const {
  return *gate_;
}

void GenerationHandler::forwardUpstream(bool store_result) {
  if (store_result && url_mode_ && cacheStopped()) {
    cache_status_ = "MISS";
    permit_.reset();  // each waiter finds the same
    return respondError(ApiError::cacheUnavailable(
        "The cache cannot store images now (its disk is full), so it cannot answer with URLs; "
        "nothing was generated. Ask for response_format \"b64_json\" to receive the images "
        "directly."));
  }
  if (auto error = admitUpstream()) {
    permit_.reset();  // another waiter (maybe another key) takes over the generation
    respondError(*error);
    return;
  }
  store_result_ = store_result;
  if (!store_result) {
    cache_status_ = cache_key_ ? "MISS" : "BYPASS";
    url_mode_ = false;
  }
  cache_status_ = store_result ? "MISS" : cache_status_;
  tryUpstream();
}

// The cache refuses every write (a full disk): a url answer could not link to its images.
bool GenerationHandler::cacheStopped() const {
  return worker_.services().store->roomFor(0) == cache::CacheStore::Room::kNever;
}

void GenerationHandler::tryUpstream() {
  Services& services = worker_.services();
  size_t choice = services.gates->choose(route_->upstream_names);
  upstream_index_ = route_->upstream_indices[choice];
  gate_ = &worker_.gate(*runtime_, upstream_index_);  // gates live as long as the gateway
  if (store_result_) {
    capture_ = std::make_unique<ResponseCapture>(request_->stream(), kCaptureLimit,
                                                 imageEvents(upstream()));
  }
  if (gate_->tryAcquire()) {
    holding_slot_ = true;
    startCall();
    return;
  }
  std::weak_ptr<GenerationHandler> weak = shared_from_this();
  UpstreamGate* granting = gate_;
  ops::Gauge* depth = services.metrics ? &services.metrics->upstreamQueueDepth(upstream().name)
                                       : nullptr;  // the registry outlives the workers
  auto admission = granting->acquire(
      &worker_.tasks(),
      [weak, granting, depth] {
        if (depth) depth->sub(1);
        if (auto self = weak.lock()) {
          self->runStep([&] { self->onSlotGranted(); });
        } else {
          granting->release();  // the request is gone: the slot goes to the next one
        }
      },
      &queue_ticket_);
  if (admission == UpstreamGate::Admission::kQueueFull) {
    respondUpstreamBusy("is at its max_queue");
    return;
  }
  if (admission == UpstreamGate::Admission::kGranted) {  // a slot came free meanwhile
    holding_slot_ = true;
    startCall();
    return;
  }
  queued_ = true;
  queue_depth_ = depth;
  if (depth) depth->add(1);
  queued_at_ = std::chrono::steady_clock::now();
  if (!queue_timer_)
    queue_timer_ = evtimer_new(worker_.base(), &GenerationHandler::onQueueTimer, this);
  auto wait = upstream().queue_timeout;
  timeval tv{static_cast<time_t>(wait.count() / 1000),
             static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  evtimer_add(queue_timer_, &tv);
}

void GenerationHandler::onSlotGranted() {
  holding_slot_ = true;  // granted: the slot is ours even if we no longer need it
  queued_ = false;
  if (queue_timer_) evtimer_del(queue_timer_);
  countQueueWait();
  if (finished_) {
    releaseSlot();
    return;
  }
  startCall();
}

void GenerationHandler::countQueueWait() {
  queue_ms_ +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - queued_at_)
          .count();
}

void GenerationHandler::onQueueTimeout() {
  if (!queued_ || finished_) return;
  if (!gate().cancel(queue_ticket_)) return;  // granted meanwhile: the grant runs
  queued_ = false;
  if (queue_depth_) queue_depth_->sub(1);
  countQueueWait();  // the whole wait, in the access log's queue_ms
  respondUpstreamBusy("kept this request queued for its queue_timeout");
}

void GenerationHandler::respondUpstreamBusy(const std::string& why) {
  ApiError error = ApiError::rateLimited(
      "The provider '" + upstream().name + "' " + why + " (max_concurrency / rpm shaping).", 1000);
  error.source = ErrorSource::kUpstream;
  refuseWaiters(error);  // they would queue behind the same full shaping
  respondError(error);
}

void GenerationHandler::releaseSlot() {
  if (!holding_slot_) return;
  holding_slot_ = false;
  gate().release();
}

void GenerationHandler::startCall() {
  auto keep_alive = shared_from_this();  // a failure reported during start() must not free us
  if (upstream_started_ == std::chrono::steady_clock::time_point{}) {
    upstream_started_ = std::chrono::steady_clock::now();
  }
  upstream_name_ = upstream().name;
  http::UpstreamPool& pool = worker_.pool(*runtime_, upstream_index_);
  if (upstream().api == UpstreamApi::kKling) {
    call_ = kling::startCall(klingSetup(pool), buildUpstreamRequest(), this);
    return;
  }
  http::OutgoingRequest out = buildUpstreamRequest();
  if (sendsEditAsGeneration()) {
    if (auto error = editAsGeneration(&out)) {
      permit_.reset();  // a waiter that takes over meets the same refusal
      return respondError(*error);
    }
  }
  call_ = pool.start(std::move(out), this);
}

bool GenerationHandler::sendsEditAsGeneration() const {
  return request_->isEdit() && upstream().api == UpstreamApi::kSeedream;
}

// Seedream has no edits endpoint: the edit goes to its generations as JSON with the images.
std::optional<ApiError> GenerationHandler::editAsGeneration(http::OutgoingRequest* out) const {
  auto body = seedream::editAsGeneration(request_->body(), request_->editForm()->parts,
                                         route_->model->upstream_model, url_mode_);
  if (auto* error = std::get_if<ApiError>(&body)) return *error;
  out->path = upstream().base_path + "/images/generations";
  out->headers.remove("content-type");
  out->headers.set("Content-Type", "application/json");
  out->body = std::move(std::get<std::string>(body));
  return std::nullopt;
}

kling::CallSetup GenerationHandler::klingSetup(http::UpstreamPool& pool) const {
  const UpstreamConfig& u = upstream();
  kling::CallSetup setup;
  setup.base = worker_.base();
  setup.dns = worker_.dns();
  setup.api = &pool;
  setup.download_tls = runtime_->tlsContext(upstream_index_);
  setup.upstream_name = u.name;
  setup.base_path = u.base_path;
  setup.require_https_images = u.tls;
  if (runtime_->config().auth.mode != AuthMode::kPassthrough) setup.credentials = u.api_key;
  setup.poll_interval = u.poll_interval;
  setup.timeout = u.timeout;
  setup.connect_timeout = u.connect_timeout;
  return setup;
}

std::string_view GenerationHandler::gatewayProviderKey() const {
  if (runtime_->config().auth.mode == AuthMode::kPassthrough) return {};
  return upstream().api_key;
}

http::OutgoingRequest GenerationHandler::buildUpstreamRequest() const {
  http::OutgoingRequest out;
  out.method = "POST";
  out.path = upstream().base_path + (request_->isEdit() ? "/images/edits" : "/images/generations");
  const http::Request& in = exchange_->request();
  copyForwardableHeaders(in.headers, &out.headers);
  out.headers.set("x-request-id", request_id_);
  if (runtime_->config().auth.mode == AuthMode::kPassthrough) {
    if (auto auth = in.headers.find("authorization")) {
      out.headers.set("Authorization", *auth);
    }
  } else if (!upstream().api_key.empty() && upstream().api != UpstreamApi::kKling) {
    out.headers.set("Authorization", "Bearer " + upstream().api_key);  // Kling's: a JWT per call
  }
  if (sendsEditAsGeneration()) {
    // its body is built by editAsGeneration()
  } else if (auto body = upstreamBody()) {
    out.body = std::move(*body);
  } else {  // the exchange's bytes (tens of MB for an edit), never copied: kept until written
    out.borrowed_body = in.body;  // what request_ parsed (in place, or a copy of it)
    out.body_owner = exchange_;
  }
  return out;
}

// The client's body with the model's upstream name and, for a url request the gateway answers
// with its own URLs, response_format "b64_json": JSON fields, or an edit form's parts. nullopt:
// the body goes as the client sent it (nothing to change, or a form field that cannot be set).
std::optional<std::string> GenerationHandler::upstreamBody() const {
  const std::string& upstream_model = route_->model->upstream_model;
  bool rename = upstream_model != request_->model();
  if (const auto& form = request_->editForm()) {
    std::vector<http::FormField> fields;
    if (rename) fields.push_back({"model", upstream_model});
    if (url_mode_) fields.push_back({"response_format", "b64_json"});
    if (fields.empty()) return std::nullopt;
    // nullopt when a field cannot be set: the form then goes as the client sent it.
    return http::setFormFields(request_->body(), form->boundary, form->parts, fields);
  }
  if (!rename && !url_mode_) return std::nullopt;  // borrowed, not copied
  std::optional<std::string> renamed;
  if (rename) renamed = setTopLevelString(request_->body(), "model", upstream_model);
  std::string body = renamed ? std::move(*renamed) : std::string(request_->body());  // one copy
  if (url_mode_) {
    body = setTopLevelString(body, "response_format", "b64_json").value_or(std::move(body));
  }
  return body;
}

void GenerationHandler::onUpstreamHead(int status, const http::Headers& headers) {
  status_ = status;
  bool failed = retryableStatus(status);
  // `x-should-retry: false` (an account out of credit): no retry on this upstream can succeed,
  // and it is no sign of a busy one (no pause). It counts towards ejection all the same.
  bool final_refusal =
      failed && headers.find("x-should-retry") == std::optional<std::string_view>("false");
  if (failed) {
    gate().recordFailure();
    if (status == 429 && !final_refusal) {
      gate().pauseFor(std::max<int64_t>(retryAfterMs(headers), 1000));
    }
  } else {
    gate().recordSuccess();
  }
  if (failed && (final_refusal ? planFallback() : planRetry(retryAfterMs(headers)))) {
    discarding_ = true;  // this answer is dropped; the retry timer starts the next attempt
    return;
  }
  image_counter_.reset();
  refusal_headers_.reset();
  if (permit_ && status >= 400) {  // its waiters may be handed the same answer
    refusal_headers_ = std::make_unique<http::Headers>();
    copyReturnableHeaders(headers, refusal_headers_.get(), gatewayProviderKey());
  }
  if (status == 200) {  // the images delivered are counted, whatever n asked for
    // A stream request's answer is an event stream unless the provider says JSON (one that
    // ignores `stream`, whose JSON is then stored all the same); a JSON request's is JSON unless
    // it says event-stream.
    std::string_view type = headers.find("content-type").value_or("");
    bool says_json = http::containsIgnoreCase(type, "json");
    bool event_stream =
        http::containsIgnoreCase(type, "text/event-stream") || (request_->stream() && !says_json);
    image_counter_.emplace(event_stream, request_->n());
    if (capture_ && request_->stream() && !event_stream) capture_->answeredWithJson();
  }
  error_mask_.reset();
  if (status >= 400 && !gatewayProviderKey().empty()) {
    error_mask_ = std::make_unique<SecretMask>(std::string(gatewayProviderKey()));
  }
  std::optional<uint64_t> length = bodyLength(headers);
  if (capture_ && length) capture_->expectLength(*length);
  if (url_mode_) url_mode_refusal_ = status == 200 ? http::Headers{} : headers;  // passed on
  if (url_mode_ || exchange_->clientGone()) return;  // answered once the body is complete
  exchange_->startResponse(status, clientResponseHeaders(status, headers), length);
}

void GenerationHandler::onUpstreamBody(evbuffer* data) {
  if (discarding_) {
    evbuffer_drain(data, evbuffer_get_length(data));
    return;
  }
  if (capture_) captureChunks(*capture_, data);
  // Priced exactly from its `usage` at the end, also when the capture cannot be stored; an error
  // answer's end names its code for the access log.
  if (status_ == 200 || status_ >= 400) body_tail_.append(data);
  if (image_counter_) image_counter_->feed(data);
  if (url_mode_ || exchange_->clientGone()) {
    evbuffer_drain(data, evbuffer_get_length(data));
    return;
  }
  exchange_->writeBody(error_mask_ ? error_mask_->pass(data) : data);
  if (exchange_->writeWouldBlock() && call_) {
    call_->pauseReading();
    exchange_->onDrained(later(&GenerationHandler::resumeUpstream));
  }
}

void GenerationHandler::resumeUpstream() {
  if (call_) call_->resumeReading();
}

void GenerationHandler::onUpstreamComplete() {
  releaseSlot();
  if (discarding_) {
    armRetryTimer();
    return;
  }
  if (error_mask_ && !url_mode_ && !exchange_->clientGone()) {
    exchange_->writeBody(error_mask_->finish());
  }
  if (status_ >= 400) {  // the provider's error, passed on: 4xx and 5xx alike are its own
    outcome_ = "upstream_error";
    error_code_ = providerErrorCode(body_tail_.view());
    refuseWaitersWithAnswer();  // a repeat would meet it too
  } else {
    outcome_ = "ok";
  }
  if (store_result_) {
    if (!storeResult()) return;  // waiting for room in the cache: answered once it is stored
  } else if (status_ == 200) {
    priceFromTail();
  }
  answerAfterUpstream();
}

void GenerationHandler::answerAfterUpstream() {
  if (url_mode_) {
    respondFromCapture();
    return;
  }
  // An in-process caller (the MCP tools) is also told where the stored images are, once written.
  if (stored_ && exchange_->notesCachedImages() && !exchange_->clientGone()) {
    switch (entryWrite(*stored_)) {
      case EntryWrite::kPending:
        return awaitWrite([this] { answerAfterUpstream(); });
      case EntryWrite::kWritten:
        exchange_->noteCachedImages(
            cachedEntryId(*worker_.services().store, *cache_key_, *stored_));
        break;
      case EntryWrite::kLost:
        break;  // the images, without links to them
    }
  }
  exchange_->endResponse();
  finish();
}

void GenerationHandler::onUpstreamError(const http::UpstreamError& error) {
  releaseSlot();
  if (error.provider_billed) paid_not_delivered_ = true;
  // Timed out while the provider had the request: charged the estimate, as a client that leaves
  // then is (timeouts are not retried). A reset then may be retried (max_retries decides).
  if (error.awaited_answer && error.kind == http::UpstreamError::Kind::kTimeout) {
    paid_not_delivered_ = true;
  }
  if (error.kind == http::UpstreamError::Kind::kHandler) {
    failInternally(error.message);
    return;
  }
  if (discarding_) {  // the failed answer being dropped broke off: the retry planned goes ahead
    armRetryTimer();
    return;
  }
  if (error.kind != http::UpstreamError::Kind::kCancelled) gate().recordFailure();
  if (!exchange_->responseStarted() && !exchange_->clientGone() && retryableError(error) &&
      planRetry(0)) {
    armRetryTimer();
    return;
  }
  outcome_ = "upstream_error";
  if (exchange_->responseStarted()) {
    permit_.reset();     // an unfinished permit wakes one waiter to take over
    exchange_->abort();  // part of the body went out: the client must see a truncated response
    finish();
    return;
  }
  ApiError failure = upstreamFailureError(error, upstream().name);
  if (error.kind == http::UpstreamError::Kind::kCancelled || error.head_received) {
    permit_.reset();  // cancelled, or broken off after its answer began: one waiter takes over
  } else {
    refuseWaiters(failure);  // the waiters get the same 502/504, none repeats the call
  }
  respondError(failure);
}

// This handler threw while the provider's answer arrived (a bug; the upstream client caught it):
// the request fails alone, logged, with a 500 or a cut answer, and a coalescing waiter takes over.
void GenerationHandler::failInternally(const std::string& what) {
  outcome_ = "internal_error";
  error_code_ = "internal_error";
  if (!exchange_->responseStarted()) status_ = 500;
  permit_.reset();
  answerInternalError(*exchange_, request_id_, what);
  finish();
}

void GenerationHandler::priceFromTail() {
  images_ = image_counter_ ? image_counter_->images() : request_->n();
  const auto& price = route_->model->price;
  // The usage is read for token rates, and for Seedream's count: it takes no n, and bills the
  // images it made. Other answers are not parsed.
  std::optional<TokenUsage> usage;
  if ((price && price->tokens) || mayCountImages(body_tail_.view())) {
    usage = usageFromTail(body_tail_.view());
  }
  if (usage && usage->generated_images) images_ = *usage->generated_images;
  if (images_ == 0 && !(usage && usage->generated_images)) {
    // A 200 without an image: none in "data", a body that never closed, or a stream that ended
    // on an error event. The client got nothing to show, and is charged nothing.
    outcome_ = "upstream_error";
    error_code_ = image_counter_ && image_counter_->sawError() ? "stream_error" : "no_images";
    cost_usd_ = 0.0;
    return;
  }
  if (!price) return;
  cost_usd_ = responseCost(*price, request_->quality(), request_->size(),
                           static_cast<size_t>(images_), usage);
}

bool GenerationHandler::planRetry(int64_t retry_after_ms) {
  if (exchange_->responseStarted() || exchange_->clientGone()) return false;
  const UpstreamConfig& current = upstream();
  double backoff =
      static_cast<double>(current.retry_base.count()) * std::pow(2.0, attempt_) * jitter();
  int64_t wait = std::max<int64_t>(static_cast<int64_t>(backoff), retry_after_ms);
  if (attempt_ < current.max_retries && wait <= current.retry_max_wait.count()) {
    ++attempt_;
    retry_wait_ms_ = wait;
    return true;
  }
  return switchToFallback();
}

// After a final refusal: the model's fallbacks, not this upstream again. Not in passthrough,
// where the refusal is about the caller's own account.
bool GenerationHandler::planFallback() {
  if (exchange_->responseStarted() || exchange_->clientGone()) return false;
  if (runtime_->config().auth.mode == AuthMode::kPassthrough) return false;
  return switchToFallback();
}

bool GenerationHandler::switchToFallback() {
  const auto& fallbacks = original_route_->model->fallbacks;
  while (next_fallback_ < fallbacks.size()) {
    const Route* next = runtime_->router().find(fallbacks[next_fallback_++]);
    if (!next || (key_ && !key_->allowsModel(next->model->name))) continue;
    route_ = next;
    attempt_ = 0;
    retry_wait_ms_ = 0;
    if (route_->model->price) {
      cost_usd_ =
          estimateCost(*route_->model->price, request_->quality(), request_->size(), request_->n());
    } else {
      cost_usd_.reset();
    }
    // Another model's image is not what the cache key describes: answer it, don't store it. The
    // identical requests waiting for this one would fall back the same way and each pay for a
    // call: they get this answer instead (onWaitOver).
    share_only_ = permit_ != nullptr;
    store_result_ = share_only_;
    url_mode_ = false;
    return true;
  }
  return false;
}

void GenerationHandler::armRetryTimer() {
  discarding_ = false;
  capture_.reset();
  image_counter_.reset();
  body_tail_.clear();
  armRetryTimer(retry_wait_ms_);
}

void GenerationHandler::armRetryTimer(int64_t wait_ms) {
  if (!retry_timer_) {
    retry_timer_ = evtimer_new(worker_.base(), &GenerationHandler::onRetryTimer, this);
  }
  timeval tv{static_cast<time_t>(wait_ms / 1000),
             static_cast<suseconds_t>((wait_ms % 1000) * 1000)};
  evtimer_add(retry_timer_, &tv);
}

// The next attempt upstream or, an answer already in hand, another try at storing it or at
// answering once it is written.
void GenerationHandler::retryNow() {
  if (finished_) return;
  if (after_write_) {
    std::exchange(after_write_, nullptr)();
    return;
  }
  if (awaiting_room_) {
    retryKeepEntry();
    return;
  }
  call_.reset();
  ++retries_;
  tryUpstream();
}

}  // namespace arkroute
