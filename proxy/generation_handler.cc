// Image generation pipeline: validation, routing, the cache (lookup, coalescing, capture and
// insert), forwarding and streaming the answer back. The log phase is in generation_log.cc.
#include "proxy/generation_handler.h"

#include <event2/buffer.h>

#include <algorithm>

#include "cache/cache_store.h"
#include "proxy/body_rewrite.h"
#include "proxy/cached_images.h"
#include "proxy/cached_reply.h"
#include "proxy/generation_headers.h"
#include "proxy/image_response.h"
#include "proxy/key_limits.h"
#include "proxy/ledger.h"
#include "proxy/ops/metrics_requests.h"
#include "proxy/pricing.h"
#include "proxy/responses.h"
#include "proxy/services.h"
#include "proxy/upstream_gate.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {
// The longest one route's attempts may take: each may queue at a gate, connect and run to its
// total timeout, with a backoff between attempts.
std::chrono::milliseconds attemptsTimeLimit(const Route& route, const Config& config) {
  Millis queue{0}, connect{0}, exchange{0}, backoff{0};
  int retries = 0;
  for (size_t index : route.upstream_indices) {
    const UpstreamConfig& upstream = config.upstreams[index];
    queue = std::max(queue, upstream.queue_timeout);
    connect = std::max(connect, upstream.connect_timeout);
    exchange = std::max(exchange, upstream.timeout);
    backoff = std::max(backoff, upstream.retry_max_wait);
    retries = std::max(retries, upstream.max_retries);
  }
  return (queue + connect + exchange) * (retries + 1) + backoff * retries;
}

// How long a coalesced request waits for the request fetching for it: as long as that one may
// legitimately take: its model's attempts, then each fallback's (their answer is shared too),
// then a url answer's wait for room in the cache. The fetching request's permit settles the
// moment it stops for any reason (it is RAII), so this only guards against one that never
// settles; a shorter wait made every waiter pay for a call of its own while the first one was
// still running (e.g. queued behind max_concurrency).
std::chrono::milliseconds writerTimeLimit(const Route& route, const Runtime& runtime) {
  std::chrono::milliseconds limit =
      attemptsTimeLimit(route, runtime.config()) + GenerationHandler::kRoomWait;
  for (const std::string& name : route.model->fallbacks) {
    const Route* fallback = runtime.router().find(name);
    if (fallback) limit += attemptsTimeLimit(*fallback, runtime.config());
  }
  return limit;
}
}  // namespace

void GenerationHandler::start(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                              std::string request_id) {
  auto handler =
      std::make_shared<GenerationHandler>(worker, std::move(exchange), std::move(request_id));
  handler->self_ = handler;
  handler->run();
}

GenerationHandler::GenerationHandler(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                                     std::string request_id)
    : worker_(worker),
      runtime_(worker.runtimeRef()),
      exchange_(std::move(exchange)),
      request_id_(std::move(request_id)),
      started_(std::chrono::steady_clock::now()),
      arrived_ms_(worker.services().now_ms()) {}

GenerationHandler::~GenerationHandler() {
  if (wait_timer_) event_free(wait_timer_);
  if (retry_timer_) event_free(retry_timer_);
  if (queue_timer_) event_free(queue_timer_);
}

int64_t GenerationHandler::nowMs() const {
  return worker_.services().now_ms();
}

void GenerationHandler::run() {
  exchange_->onClientGone(later(&GenerationHandler::onClientGone));
  std::optional<ApiError> error = filterRequest();
  if (!error) error = authenticate();
  if (!error) error = route();
  if (error) {
    respondError(*error);
    return;
  }
  consultCache();
}

std::optional<ApiError> GenerationHandler::filterRequest() {
  const http::Request& in = exchange_->request();
  auto parsed = in.path == kEditsPath
                    ? ImageRequest::parseEdit(in.body, in.headers.get("content-type"))
                    : ImageRequest::parseInPlace(in.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return *error;
  request_ = std::move(std::get<std::unique_ptr<ImageRequest>>(parsed));
  return std::nullopt;
}

std::optional<ApiError> GenerationHandler::authenticate() {
  // auth.mode = "open": anyone may call; the client's own Authorization is never forwarded.
  // "passthrough": the client's Authorization is forwarded instead of the upstream key, so one is
  // required: a cache hit never reaches the provider that would have refused a caller without.
  // "keys": a virtual key is required, and its request rate limit applies to every request.
  AuthMode mode = runtime_->config().auth.mode;
  if (mode == AuthMode::kPassthrough &&
      bearerToken(exchange_->request().headers.get("authorization")).empty()) {
    return ApiError::invalidApiKey(
        "This gateway passes your own provider key through (auth.mode = \"passthrough\"): send "
        "it as Authorization: Bearer <key>.");
  }
  if (mode != AuthMode::kKeys) return std::nullopt;
  Services& services = worker_.services();
  auto found = services.keys->authenticate(
      bearerToken(exchange_->request().headers.get("authorization")), nowMs());
  if (auto* rejection = std::get_if<KeyRejection>(&found)) {
    return ApiError::invalidApiKey(std::string(describe(*rejection)));
  }
  key_ = std::move(std::get<VirtualKey>(found));
  RateDecision rate = services.key_limits->takeRequest(*key_, nowMs());
  if (rate.limit > 0) {
    rate_headers_.set("x-ratelimit-limit-requests", std::to_string(rate.limit));
    rate_headers_.set("x-ratelimit-remaining-requests", std::to_string(rate.remaining));
    rate_headers_.set("x-ratelimit-reset-requests", formatResetDuration(rate.reset_ms));
  }
  if (!rate.allowed) {
    return ApiError::rateLimited("Rate limit reached for key '" + key_->name +
                                     "': " + std::to_string(rate.limit) + " requests per minute.",
                                 rate.retry_after_ms);
  }
  return std::nullopt;
}

// Seedream makes sets (sequential_image_generation): a model with a Seedream upstream may make
// more images than n. Other providers ignore the field.
bool GenerationHandler::routeMakesSets() const {
  const auto& upstreams = runtime_->config().upstreams;
  for (size_t index : route_->upstream_indices) {
    if (upstreams[index].api == UpstreamApi::kSeedream) return true;
  }
  return false;
}

std::optional<ApiError> GenerationHandler::admitUpstream() {
  if (!key_ || reserved_usd_) return std::nullopt;  // open mode, or admitted before a retry
  Services& services = worker_.services();
  if (key_->images_per_min > 0 && request_->n() > key_->images_per_min) {
    // No wait lets it through: a retry-after would have the SDKs retry it until they give up.
    ApiError error{429,
                   "Request too large for key '" + key_->name + "': it asks for " +
                       std::to_string(request_->n()) +
                       " images, and the key may generate at "
                       "most " +
                       std::to_string(key_->images_per_min) + " per minute. Ask for fewer (n).",
                   "requests",
                   std::string("n"),
                   "rate_limit_exceeded",
                   ErrorSource::kClient};
    error.no_retry = true;
    return error;
  }
  int64_t retry_after_ms = 0;
  // A Seedream set counts as the most it may make: its budget share in full, and as much of the
  // per-minute allowance as there is (n alone over the allowance was refused above).
  int images = routeMakesSets() ? request_->mostImages() : request_->n();
  int allowance = key_->images_per_min > 0 ? std::min<int>(images, key_->images_per_min) : images;
  if (!services.key_limits->takeImages(*key_, allowance, nowMs(), &retry_after_ms)) {
    return ApiError::rateLimited("Image rate limit reached for key '" + key_->name + "': " +
                                     std::to_string(key_->images_per_min) + " images per minute.",
                                 retry_after_ms);
  }
  double remaining = 0;
  Ledger* ledger = services.ledger;
  std::optional<double> estimate;
  if (route_->model->price) {
    estimate = budgetEstimate(*route_->model->price, request_->quality(), request_->size(), images);
  }
  bool fits_once_settled = false;
  reserved_usd_ = services.key_limits->reserve(
      *key_, estimate, [ledger, this] { return ledger->spent(key_->id); }, &remaining,
      &fits_once_settled);
  if (!reserved_usd_) {
    ApiError error = ApiError::insufficientQuota(
        "Budget exhausted for key '" + key_->name + "': $" + formatUsd(std::max(0.0, remaining)) +
        " left, this request is estimated at $" + formatUsd(estimate) +
        ". Cached generations stay free.");
    // Unless requests in flight may settle for less than they hold, a retry cannot succeed: the
    // SDKs are told not to retry (they do retry a 429 otherwise).
    error.no_retry = !fits_once_settled;
    return error;
  }
  return std::nullopt;
}

std::optional<ApiError> GenerationHandler::route() {
  route_ = runtime_->router().find(request_->model());
  if (!route_) return ApiError::modelNotFound(request_->model());
  original_route_ = route_;
  if (key_ && !key_->allowsModel(route_->model->name)) {
    return ApiError::modelNotAllowed(route_->model->name, key_->name);
  }
  if (route_->model->price) {
    cost_usd_ =
        estimateCost(*route_->model->price, request_->quality(), request_->size(), request_->n());
  }
  return std::nullopt;
}

// No response_format: the provider's default, which for some (Seedream, DALL-E) is URLs.
std::string_view GenerationHandler::responseFormat() const {
  std::string_view format = request_->responseFormat();
  return format.empty() ? std::string_view(route_->model->default_response_format) : format;
}

ImageEvents GenerationHandler::imageEvents(const UpstreamConfig& provider) const {
  bool edit_events = request_->isEdit() && provider.api != UpstreamApi::kSeedream;
  return edit_events ? ImageEvents::kEdit : ImageEvents::kGeneration;
}

bool GenerationHandler::cacheApplies() const {
  return worker_.services().store && runtime_->config().cache.enabled && route_->model->cache;
}

void GenerationHandler::consultCache() {
  policy_ = CachePolicy::fromHeaders(exchange_->request().headers);
  if (!cacheApplies() || (!policy_.read && !policy_.write)) {
    forwardUpstream(false);
    return;
  }
  if (!edit_digests_ && request_->isEdit()) {
    edit_digests_ = std::make_unique<EditDigests>(request_->editFiles());
    hashEditFiles();  // then comes back here
    return;
  }
  std::string
      tenant;  // cache.scope = "per_key": the caller's identity, as a hash, never the secret
  if (runtime_->config().cache.scope == CacheScope::kPerKey) {
    tenant = sha256Hex(exchange_->request().headers.get("authorization"));
  }
  cache_key_ = request_->cacheKey(route_->upstream->name, route_->model->upstream_model, tenant,
                                  edit_digests_ ? &edit_digests_->digests() : nullptr);
  wants_urls_ = !request_->stream() && responseFormat() == "url";
  url_mode_ = wants_urls_ && policy_.write;
  if (!policy_.read) {
    afterLookup(nullptr);
    return;
  }
  if (auto entry = worker_.services().store->findInMemory(*cache_key_, nowMs())) {
    afterLookup(std::move(entry));
  } else {
    lookUpOffLoop();
  }
}

// One slice of the edit's files per loop turn (posted, so the loop polls its sockets in between);
// a small edit is done in the first. A client that leaves meanwhile ends the request.
void GenerationHandler::hashEditFiles() {
  if (finished_) return;
  if (edit_digests_->step()) {
    consultCache();
    return;
  }
  worker_.tasks().post(later(&GenerationHandler::hashEditFiles));
}

// An entry not in memory may be on disk: it is read on the blocking pool, so this loop serves its
// other clients meanwhile. A read that throws (logged) counts as a miss.
void GenerationHandler::lookUpOffLoop() {
  std::weak_ptr<GenerationHandler> weak = shared_from_this();
  worker_.offLoop(
      [weak, store = worker_.services().store, key = *cache_key_, now = nowMs()] {
        auto entry = store->lookup(key, now).entry;
        return std::function<void()>([weak, entry = std::move(entry)]() mutable {
          if (auto self = weak.lock()) self->runStep([&] { self->afterLookup(std::move(entry)); });
        });
      },
      later([](GenerationHandler& self) { self.afterLookup(nullptr); }));
}

// The lookup missed, but another request's generation may have been stored since (the lookup ran
// off the loop, before this join): a writer stores before it lets its permit go, so the entry is
// in memory now. Serves it instead of paying for the same image again.
bool GenerationHandler::servedByAFinishedWriter() {
  if (!policy_.read) return false;
  auto entry = worker_.services().store->findInMemory(*cache_key_, nowMs());
  if (!entry) return false;
  // A url answer links to it, and so may the requests queued behind this permit: settled only
  // once its write landed. Lost: this request generates anew, holding the permit.
  if (wants_urls_) {
    switch (entryWrite(*entry)) {
      case EntryWrite::kPending:
        awaitWrite([this] {
          if (!servedByAFinishedWriter()) forwardUpstream(true);
        });
        return true;
      case EntryWrite::kLost:
        return false;
      case EntryWrite::kWritten:
        break;
    }
  }
  permit_->done(entry, true);  // anyone queued behind this permit is served the same entry
  permit_.reset();
  auto fetch = [this] { forwardUpstream(false); };
  if (!serveFromCache(entry, "HIT", fetch)) fetch();
  return true;
}

void GenerationHandler::afterLookup(std::shared_ptr<const cache::CacheEntry> entry) {
  if (finished_) return;  // the client left while the cache was read
  if (entry && serveFromCache(entry, "HIT", [this] { afterMiss(); })) return;
  afterMiss();
}

void GenerationHandler::afterMiss() {
  if (!policy_.write) {
    forwardUpstream(false);
    return;
  }
  joinCoalescing();
}

// False: not served, and nothing is pending (the caller goes on as after a miss). True: served,
// answered, or waiting for the entry's write; should that wait end without serving it,
// if_not_served runs then.
bool GenerationHandler::serveFromCache(const std::shared_ptr<const cache::CacheEntry>& entry,
                                       std::string_view status,
                                       std::function<void()> if_not_served) {
  // A hit is named to an in-process caller (a coalesced entry may be another name's), which
  // makes links of it; so do url answers: only to a written entry.
  bool named = status == "HIT" && exchange_->notesCachedImages();
  if (wants_urls_ || named) {
    switch (entryWrite(*entry)) {
      case EntryWrite::kPending:
        awaitWrite([this, entry, status = std::string(status), if_not_served] {
          if (!serveFromCache(entry, status, if_not_served)) if_not_served();
        });
        return true;
      case EntryWrite::kLost:
        if (!wants_urls_) {  // the images, without links to them
          named = false;
          break;
        }
        // A waiter's images were paid for once, and lost; a hit's are a miss now.
        if (status != "COALESCED") return false;
        respondWriteLost();
        return true;
      case EntryWrite::kWritten:
        break;
    }
  }
  // The entry's id names it in url answers and to the MCP tools; it outlives options (a view).
  const std::string entry_id = cachedEntryId(*worker_.services().store, *cache_key_, *entry);
  CachedReplyOptions options{request_id_,   route_->model->name,
                             status,        request_->stream(),
                             wants_urls_,   runtime_->config().server.public_url,
                             entry_id,      nowMs(),
                             &rate_headers_};
  options.url_answers = &worker_.urlAnswers();
  // a key names the model's first upstream: the one that made the entry
  options.events = imageEvents(runtime_->config().upstreams[route_->upstream_indices.front()]);
  // Said before the reply, which may complete an in-process exchange at once.
  if (named) exchange_->noteCachedImages(entry_id);
  if (!sendCachedReply(*exchange_, entry, options)) {
    exchange_->noteCachedImages("");
    return false;
  }
  status_ = 200;
  images_ = imagesInAnswer(entry->body, request_->n());  // a Seedream set counts its own
  cache_status_ = std::string(status);
  cost_usd_ = 0.0;
  if (entry->cost_usd >= 0) saved_usd_ = entry->cost_usd;
  outcome_ = "ok";
  finish();
  return true;
}

void GenerationHandler::joinCoalescing() {
  std::weak_ptr<GenerationHandler> weak = shared_from_this();
  LoopTasks* tasks = &worker_.tasks();
  auto joined = worker_.services().coalescer->join(
      cache_key_->digest(), [weak, tasks](cache::Coalescer::Result result) {
        auto shared = std::make_shared<cache::Coalescer::Result>(std::move(result));
        tasks->post([weak, shared] {
          if (auto self = weak.lock()) self->runStep([&] { self->onWaitOver(std::move(*shared)); });
        });
      });
  if (auto* permit = std::get_if<std::unique_ptr<cache::Coalescer::WritePermit>>(&joined)) {
    permit_ = std::move(*permit);
    if (!servedByAFinishedWriter()) forwardUpstream(true);
    return;
  }
  ticket_ = std::get<cache::Coalescer::Ticket>(joined);
  wait_started_ = std::chrono::steady_clock::now();
  wait_timer_ = evtimer_new(worker_.base(), &GenerationHandler::onWaitTimer, this);
  auto wait = writerTimeLimit(*route_, *runtime_);
  timeval tv{static_cast<time_t>(wait.count() / 1000),
             static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  evtimer_add(wait_timer_, &tv);
}

void GenerationHandler::onWaitTimeout() {
  if (!ticket_ || finished_) return;
  if (!worker_.services().coalescer->cancelWait(cache_key_->digest(), *ticket_)) return;
  ticket_.reset();
  forwardUpstream(false);  // WaitTimeout: fetch on our own, do not store
}

void GenerationHandler::onWaitOver(cache::Coalescer::Result result) {
  ticket_.reset();
  queue_ms_ +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wait_started_)
          .count();
  if (wait_timer_) evtimer_del(wait_timer_);
  if (finished_) return;  // the client left while waiting
  using Outcome = cache::Coalescer::Outcome;
  if (result.outcome == Outcome::kDone && result.entry && !acceptCoalesced(*result.entry)) {
    forwardUpstream(false);
    return;
  }
  if (result.outcome == Outcome::kDone && result.entry && wants_urls_ && !result.stored) {
    keepForUrls(result.entry);  // paid for once already: not fetched again
    return;
  }
  if (result.outcome == Outcome::kDone && result.entry &&
      serveFromCache(result.entry, "COALESCED", [this] { forwardUpstream(false); })) {
    return;
  }
  if (result.outcome == Outcome::kRefused && result.error) {
    answerRefused(*result.error);
    return;
  }
  if (result.permit) {  // the writer failed and handed this request the job
    permit_ = std::move(result.permit);
    forwardUpstream(true);
    return;
  }
  forwardUpstream(false);
}

// Whether this request may be served the entry it waited for. Its own model's answer is, and so
// is an alias's (a model with the same upstream and upstream model shares the cache key). Any
// other model's answer comes from a fallback and was not stored: this request takes it (and is
// accounted to that model) unless it asked for URLs, which need a stored entry, or its key may not
// use that model. False: it fetches on its own.
bool GenerationHandler::acceptCoalesced(const cache::CacheEntry& entry) {
  if (entry.model == route_->model->name) return true;
  const Route* theirs = runtime_->router().find(entry.model);
  if (!theirs) return false;
  if (theirs->upstream->name == route_->upstream->name &&
      theirs->model->upstream_model == route_->model->upstream_model) {
    return true;
  }
  if (wants_urls_ || (key_ && !key_->allowsModel(entry.model))) return false;
  route_ = theirs;
  return true;
}

http::Headers GenerationHandler::clientResponseHeaders(int status,
                                                       const http::Headers& upstream) const {
  http::Headers headers;
  // Without these four: added, not set.
  copyReturnableHeaders(upstream, &headers, gatewayProviderKey());
  headers.add("x-request-id", request_id_);
  headers.add("X-ArkRoute-Model", route_->model->name);
  headers.add("X-ArkRoute-Cache", cache_status_);
  headers.add("X-ArkRoute-Cost-USD", formatUsd(status == 200 ? cost_usd_ : 0.0));
  addCommonHeaders(&headers);
  return headers;
}

void GenerationHandler::addCommonHeaders(http::Headers* headers) const {
  for (const auto& [name, value] : rate_headers_) headers->set(name, value);
}

void GenerationHandler::respondError(const ApiError& error) {
  status_ = error.status;
  error_code_ = error.code.value_or(error.type);
  if (outcome_.empty()) outcome_ = std::string(toString(error.source)) + "_error";
  http::Headers headers;
  if (route_) headers.set("X-ArkRoute-Model", route_->model->name);
  // A failure the provider bills (a Kling task that was made, a timeout while it had the request)
  // is charged: the answer says what, as the ledger does.
  if (paid_not_delivered_) headers.set("X-ArkRoute-Cost-USD", formatUsd(cost_usd_));
  addCommonHeaders(&headers);
  if (error.retry_after_ms > 0) {
    headers.set("retry-after", std::to_string((error.retry_after_ms + 999) / 1000));
  }
  if (!exchange_->clientGone()) sendError(*exchange_, error, request_id_, std::move(headers));
  finish();
}

void GenerationHandler::leaveCoalescingWait() {
  if (!ticket_) return;
  worker_.services().coalescer->cancelWait(cache_key_->digest(), *ticket_);
  ticket_.reset();
}

void GenerationHandler::onClientGone() {
  if (finished_) return;
  leaveCoalescingWait();
  if (store_result_ && (call_ || awaiting_room_)) {  // the writer keeps going: it gets cached
    background_id_ = worker_.addBackgroundWork(later(&GenerationHandler::abandon));
    // Reading may be paused for the client's slow writes, and the exchange dropped its drain
    // callback with the client: nothing else would resume it (the rest is only read, not sent).
    if (call_) call_->resumeReading();
    return;
  }
  abandon();
}

void GenerationHandler::abandon() {
  if (finished_) return;
  outcome_ = "client_gone";
  // The provider has the request and has not answered: it most likely generates, and bills, the
  // images nobody will see. They count at the estimate, so leaving early spends like staying.
  if (call_ && call_->awaitingAnswer()) paid_not_delivered_ = true;
  call_.reset();  // cancels the upstream request: nobody is waiting for it
  finish();
}

}  // namespace arkroute
