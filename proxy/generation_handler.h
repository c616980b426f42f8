// The pipeline for POST /v1/images/generations (and /v1/images/edits, which skips the cache
// phases), one object per request. Phases run in order
// (DESIGN.md "The shape"): request_filter → authenticate → route → cache_key → cache_lookup →
// coalesce → upstream (streamed through with backpressure, captured for the cache) → cache_insert
// → respond → log. The log phase always runs. The handler keeps itself alive (self_) while it
// waits on the upstream or on another request's generation, and runs only on its worker's thread.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cache/cache_key.h"
#include "cache/coalescer.h"
#include "proxy/api_error.h"
#include "proxy/cache_policy.h"
#include "proxy/edit_digests.h"
#include "proxy/http/server.h"
#include "proxy/http/upstream.h"
#include "proxy/image_counter.h"
#include "proxy/image_events.h"
#include "proxy/image_request.h"
#include "proxy/internal_failure.h"
#include "proxy/kling_call.h"
#include "proxy/request_record.h"
#include "proxy/response_capture.h"
#include "proxy/response_tail.h"
#include "proxy/router.h"
#include "proxy/runtime.h"
#include "proxy/secret_mask.h"
#include "proxy/virtual_keys.h"

namespace arkroute {

class Worker;
class UpstreamGate;
namespace ops {
class Gauge;
}  // namespace ops

// Requests to this path are edits (multipart/form-data); every other goes as a generation.
inline constexpr std::string_view kEditsPath = "/v1/images/edits";

class GenerationHandler : public http::UpstreamResponseHandler,
                          public std::enable_shared_from_this<GenerationHandler> {
 public:
  static void start(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                    std::string request_id);
  GenerationHandler(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                    std::string request_id);
  ~GenerationHandler() override;

  void onUpstreamHead(int status, const http::Headers& headers) override;
  void onUpstreamBody(evbuffer* data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(const http::UpstreamError& error) override;

  // A url answer the cache refused only because it is still writing earlier images waits this
  // long for room, trying again every kRoomPollMs: the images are paid for, and the writer
  // catches up once the workers leave it some CPU. A url answer whose entry is being written
  // waits as long for the write.
  static constexpr std::chrono::seconds kRoomWait{10};
  static constexpr int64_t kRoomPollMs = 20;

 private:
  // Phases, in order.
  void run();
  std::optional<ApiError> filterRequest();
  std::optional<ApiError> authenticate();
  bool routeMakesSets() const;
  std::optional<ApiError> route();
  std::optional<ApiError> admitUpstream();  // images/min and budget, only when going upstream
  void addCommonHeaders(http::Headers* headers) const;
  void consultCache();
  void hashEditFiles();  // an edit's file digests for its key, a slice per loop turn
  void lookUpOffLoop();
  // The lookup's answer (nullptr: a miss, or the cache not read): serve it, or go on to the
  // provider (joining an identical generation in flight when the answer will be stored).
  void afterLookup(std::shared_ptr<const cache::CacheEntry> entry);
  bool servedByAFinishedWriter();
  void afterMiss();  // nothing (usable) in the cache: join an identical generation, or fetch
  bool serveFromCache(const std::shared_ptr<const cache::CacheEntry>& entry,
                      std::string_view status, std::function<void()> if_not_served);
  void joinCoalescing();
  void onWaitOver(cache::Coalescer::Result result);
  // generation_refusal.cc: a call made for waiters that ends in an error answer hands them that
  // answer (from the provider's whole body, or from the gateway's error), and a waiter gives it.
  void refuseWaitersWithAnswer();
  void refuseWaiters(const ApiError& error);
  void refuseWaiters(int status, const http::Headers& headers, std::string body);
  void answerRefused(const cache::Coalescer::ErrorAnswer& answer);
  void onWaitTimeout();
  void leaveCoalescingWait();  // this request no longer waits for an identical one in flight
  bool acceptCoalesced(const cache::CacheEntry& entry);
  void keepForUrls(std::shared_ptr<const cache::CacheEntry> entry);
  void forwardUpstream(bool store_result);
  bool cacheStopped() const;
  void tryUpstream();  // choose an upstream, wait for a slot, start the call
  void onSlotGranted();
  void startCall();
  kling::CallSetup klingSetup(http::UpstreamPool& pool) const;
  void releaseSlot();
  void respondUpstreamBusy(const std::string& why);
  bool planRetry(int64_t retry_after_ms);  // false: give up (pass the failure on)
  bool planFallback();                     // the same, skipping this upstream's retries
  bool switchToFallback();
  void armRetryTimer();                 // the next attempt, after retry_wait_ms_
  void armRetryTimer(int64_t wait_ms);  // the timer alone
  void priceFromTail();
  const UpstreamConfig& upstream() const;
  UpstreamGate& gate() const;
  static void onQueueTimer(evutil_socket_t, short, void* arg);
  static void onRetryTimer(evutil_socket_t, short, void* arg);
  // Stores the captured answer. False while a url answer waits for room in the cache (the
  // retry timer goes on with it).
  bool storeResult();
  bool keepEntry(std::shared_ptr<const cache::CacheEntry> entry);
  void retryKeepEntry();
  enum class EntryWrite { kWritten, kPending, kLost };
  EntryWrite entryWrite(const cache::CacheEntry& entry);
  void awaitWrite(std::function<void()> resume);
  void respondWriteLost();
  void answerAfterUpstream();
  void respondError(const ApiError& error);
  void failInternally(const std::string& what);  // this handler threw (see onUpstreamError)
  void respondImagesNotCacheable();
  void finish();
  RequestRecord makeRecord() const;

  // Entry points from the loop: timers, posted tasks, the exchange's and the worker's callbacks.
  // Each runs as a step, so what it throws (a bug) fails this request alone: an internal error
  // (500, or a cut answer), logged, instead of the worker's loop ending (generation_steps.cc).
  template <typename Step>
  void runStep(Step&& step) {
    runGuarded(
        std::forward<Step>(step), [this](const std::string& what) { failStep(what); },
        "request " + request_id_ + "'s failure");
  }
  // A step for later (a member function, or a callable taking the handler), run only while the
  // handler exists.
  template <typename Step>
  std::function<void()> later(Step step) {
    return [weak = weak_from_this(), step = std::move(step)]() mutable {
      if (auto self = weak.lock()) self->runStep([&] { std::invoke(step, *self); });
    };
  }
  static void runTimerStep(void* arg, void (GenerationHandler::*step)());  // keeps it alive
  void failStep(const std::string& what);
  void retryNow();        // the retry timer
  void onQueueTimeout();  // the queue timer
  void countQueueWait();  // adds the time since queued_at_ to queue_ms_

  // Helpers.
  bool cacheApplies() const;
  std::string_view responseFormat() const;  // as asked, or the model's default
  // An edit's or a generation's SSE events, as the provider sends them (Seedream takes an edit as
  // a generation and streams it as one).
  ImageEvents imageEvents(const UpstreamConfig& provider) const;
  http::OutgoingRequest buildUpstreamRequest() const;
  // The provider key the gateway sent this upstream ("" in passthrough mode: the caller's own).
  std::string_view gatewayProviderKey() const;
  std::optional<std::string> upstreamBody() const;
  bool sendsEditAsGeneration() const;  // an edit for a provider that takes it as a generation
  std::optional<ApiError> editAsGeneration(http::OutgoingRequest* out) const;
  http::Headers clientResponseHeaders(int status, const http::Headers& upstream_headers) const;
  void respondFromCapture();
  void onClientGone();
  void abandon();  // nobody waits for the answer any more: cancel the upstream call, then log
  void resumeUpstream();
  int64_t nowMs() const;
  static void onWaitTimer(evutil_socket_t, short, void* arg);

  Worker& worker_;
  std::shared_ptr<const Runtime> runtime_;
  std::shared_ptr<http::Exchange> exchange_;
  std::string request_id_;
  std::unique_ptr<ImageRequest> request_;
  const Route* route_ = nullptr;           // the model serving it now (a fallback after failover)
  const Route* original_route_ = nullptr;  // the model the client asked for
  size_t upstream_index_ = 0;              // the upstream of the current attempt
  UpstreamGate* gate_ = nullptr;           // its shaping gate (set with upstream_index_)
  std::string upstream_name_;              // the last upstream contacted
  int attempt_ = 0;                        // retries on the current model
  int retries_ = 0;                        // retries in all
  size_t next_fallback_ = 0;
  int64_t retry_wait_ms_ = 0;
  bool discarding_ = false;  // dropping a failed answer before a retry
  event* retry_timer_ = nullptr;
  event* queue_timer_ = nullptr;
  uint64_t queue_ticket_ = 0;
  bool queued_ = false;
  bool holding_slot_ = false;
  std::chrono::steady_clock::time_point queued_at_;
  double queue_ms_ = 0;                // waiting for a shaping slot and for a coalesced generation
  ops::Gauge* queue_depth_ = nullptr;  // arkroute_upstream_queue_depth while queued
  std::chrono::steady_clock::time_point wait_started_;
  ResponseTail body_tail_;                     // last bytes of an uncaptured 200 (for its `usage`)
  std::optional<ImageCounter> image_counter_;  // a 200's images, as they pass
  // An error answer on its way to the client, with the gateway's provider key masked in it.
  std::unique_ptr<SecretMask> error_mask_;
  // ...and its returnable headers, kept while waiters may be handed the same answer.
  std::unique_ptr<http::Headers> refusal_headers_;
  CachePolicy policy_;
  std::unique_ptr<EditDigests> edit_digests_;
  std::optional<cache::CacheKey> cache_key_;
  std::unique_ptr<cache::Coalescer::WritePermit> permit_;
  std::optional<cache::Coalescer::Ticket> ticket_;
  event* wait_timer_ = nullptr;
  std::unique_ptr<ResponseCapture> capture_;
  std::shared_ptr<const cache::CacheEntry> stored_;  // what this request put in the cache
  bool images_not_kept_ = false;  // a 200 with images the cache refused (or past the capture limit)
  // The provider generated (and billed) images this request could not hand over as URLs: its cost
  // is recorded although the client got an error.
  bool paid_not_delivered_ = false;
  bool cache_unavailable_ = false;  // ...refused though they fit: writes pending, or a full disk
  // A url answer refused only because earlier writes are pending waits (the retry timer) for
  // room until room_deadline_: without an entry it could only answer with an error.
  std::shared_ptr<const cache::CacheEntry> awaiting_room_;
  std::chrono::steady_clock::time_point room_deadline_;
  bool awaited_room_ = false;  // counted once in Services::cache_room_waits
  // A url answer whose entry is still being written polls (the retry timer) until it is durable:
  // after_write_ is the step that answers then, write_poll_ms_ the next wait (0: not waiting yet).
  std::function<void()> after_write_;
  int64_t write_poll_ms_ = 0;
  bool write_waited_out_ = false;  // a wait ran out: pending writes count as lost from then on
  std::chrono::steady_clock::time_point write_deadline_;
  bool wants_urls_ = false;  // response_format "url", asked or the model's default (not streaming)
  bool url_mode_ = false;    // ...and this request stores: fetch b64_json, answer with ours
  bool store_result_ = false;  // this request writes the cache entry
  // ...or, after switching to a fallback model, only hands its answer to the requests waiting for
  // it: another model's image is not what the cache key describes, so it is not stored.
  bool share_only_ = false;
  std::unique_ptr<http::UpstreamCall> call_;
  std::shared_ptr<GenerationHandler> self_;
  std::optional<uint64_t> background_id_;  // going on after its client left (Worker's id)
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point upstream_started_;
  double upstream_ms_ = 0;
  int64_t arrived_ms_ = 0;
  int images_ = 0;
  int status_ = 0;
  std::string cache_status_ = "BYPASS";
  std::optional<double> cost_usd_;
  std::optional<double> saved_usd_;
  std::optional<VirtualKey> key_;       // auth.mode = "keys": the caller
  http::Headers rate_headers_;          // x-ratelimit-* for the caller's key
  http::Headers url_mode_refusal_;      // url mode: a refusal's upstream headers (retry-after...)
  std::optional<double> reserved_usd_;  // budget reservation, released in the log phase
  std::string outcome_;
  std::string error_code_;
  bool finished_ = false;
};

}  // namespace arkroute
