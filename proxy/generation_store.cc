// The storing phase of the image pipeline: a complete answer goes into the cache (a url answer
// waits for room while only pending writes stand in the way), and url answers, which link to the
// stored entry, go out once that entry is durable, or are a clear 503 when it cannot be.
#include <chrono>

#include "cache/cache_store.h"
#include "proxy/cached_images.h"
#include "proxy/generation_handler.h"
#include "proxy/image_response.h"
#include "proxy/pricing.h"
#include "proxy/responses.h"
#include "proxy/services.h"
#include "proxy/worker.h"

namespace arkroute {

// The request this one waited for got the images, but the cache did not keep them (that request
// asked for b64_json and did not wait for room, or the cache refused them): this url request has
// them in hand and stores them itself, waiting for room like any url answer, so its URLs resolve.
void GenerationHandler::keepForUrls(std::shared_ptr<const cache::CacheEntry> entry) {
  status_ = 200;
  cache_status_ = "COALESCED";
  cost_usd_ = 0.0;
  if (entry->cost_usd >= 0) saved_usd_ = entry->cost_usd;
  images_ = imagesInAnswer(entry->body, request_->n());
  if (!policy_.write || !worker_.services().store) {
    images_not_kept_ = true;
    respondImagesNotCacheable();
    return;
  }
  outcome_ = "ok";
  url_mode_ = true;
  room_deadline_ = std::chrono::steady_clock::now() + kRoomWait;
  if (keepEntry(std::move(entry))) respondFromCapture();
}

bool GenerationHandler::storeResult() {
  std::optional<ResponseCapture::Cacheable> body =
      policy_.write ? capture_->takeCacheable(status_) : std::nullopt;
  if (!body) {
    if (status_ == 200) priceFromTail();  // a URL stream, an error event, over the size limit
    images_not_kept_ = status_ == 200 && capture_->overflowed();
    // A 200 with images the cache cannot keep: each waiter fetches on its own. An error answer,
    // or a 200 without an image, is this call's failure: one waiter takes over, the others keep
    // waiting for its answer.
    if (permit_ && status_ == 200 && images_ > 0) permit_->uncacheable();
    permit_.reset();
    return true;
  }
  size_t images = body->images;
  std::optional<double> cost;
  if (route_->model->price) {
    cost = responseCost(*route_->model->price, request_->quality(), request_->size(), images,
                        usageFromTail(body->json));  // `usage` closes the body: no second parse
  }
  if (cost) cost_usd_ = cost;
  images_ = static_cast<int>(images);
  int64_t now = nowMs();
  auto ttl = policy_.effectiveTtl(runtime_->config().cache.ttl);
  auto entry = std::make_shared<cache::CacheEntry>(
      cache::CacheEntry{std::move(body->json), "application/json", route_->model->name,
                        cost.value_or(-1.0), now, now + ttl.count()});
  entry->write = std::make_shared<cache::WriteProgress>();  // url answers wait for it
  room_deadline_ = std::chrono::steady_clock::now() + kRoomWait;
  return keepEntry(std::move(entry));
}

bool GenerationHandler::keepEntry(std::shared_ptr<const cache::CacheEntry> entry) {
  if (share_only_) {  // a fallback's answer: for the waiters, not for the cache
    if (permit_) permit_->done(std::move(entry), false);
    permit_.reset();
    return true;
  }
  using Room = cache::CacheStore::Room;
  cache::CacheStore& store = *worker_.services().store;
  uint64_t bytes = entry->body.size() + cache_key_->canonical().size();
  // A url answer does not try (and get counted as a dropped write) while there is no room.
  Room room = url_mode_ ? store.roomFor(bytes) : Room::kNow;
  if (room == Room::kNow) {
    if (store.insert(*cache_key_, entry)) {  // shared: no copy of the body
      stored_ = entry;
    } else if (url_mode_) {
      room = store.roomFor(bytes);  // another worker took the room first
    }
  }
  if (!stored_ && room == Room::kLater && std::chrono::steady_clock::now() < room_deadline_) {
    if (!awaited_room_ && worker_.services().cache_room_waits) {
      worker_.services().cache_room_waits->fetch_add(1, std::memory_order_relaxed);
    }
    awaited_room_ = true;
    awaiting_room_ = std::move(entry);
    armRetryTimer(kRoomPollMs);
    return false;
  }
  if (!stored_) {
    images_not_kept_ = true;
    cache_unavailable_ = bytes <= runtime_->config().cache.max_bytes;
  }
  if (permit_) permit_->done(entry, stored_ != nullptr);
  permit_.reset();
  return true;
}

void GenerationHandler::retryKeepEntry() {
  if (keepEntry(std::move(awaiting_room_))) answerAfterUpstream();
}

void GenerationHandler::respondFromCapture() {
  if (exchange_->clientGone()) {
    finish();
    return;
  }
  // URLs only for images the cache holds: one it could not keep would answer 404.
  if (images_not_kept_) {
    respondImagesNotCacheable();
    return;
  }
  if (stored_) {
    switch (entryWrite(*stored_)) {
      case EntryWrite::kPending:
        return awaitWrite([this] { respondFromCapture(); });
      case EntryWrite::kLost:
        return respondWriteLost();
      case EntryWrite::kWritten:
        break;
    }
  }
  std::optional<std::string> urls;
  if (stored_) {
    std::string entry_id = cachedEntryId(*worker_.services().store, *cache_key_, *stored_);
    urls = toUrlResponse(stored_->body, runtime_->config().server.public_url, entry_id);
    exchange_->noteCachedImages(entry_id);
  }
  if (!urls && !capture_) {  // a coalesced url request has only the stored entry to answer with
    respondImagesNotCacheable();
    return;
  }
  std::string_view body = urls ? *urls : capture_->raw();
  std::string refusal;  // a provider's error answer, with the gateway's key masked in it
  if (!urls && status_ >= 400) {
    refusal = capture_->raw();
    maskSecret(gatewayProviderKey(), &refusal);
    body = refusal;
  }
  sendJson(*exchange_, status_, body, request_id_,
           clientResponseHeaders(status_, url_mode_refusal_));
  finish();
}

// URL answers point at cache entries; images the cache did not keep cannot have one.
void GenerationHandler::respondImagesNotCacheable() {
  outcome_ = "internal_error";
  // Only a request that made the upstream call itself (it captured the answer) paid for them.
  paid_not_delivered_ = capture_ != nullptr;
  if (cache_unavailable_) {
    return respondError(ApiError::cacheUnavailable(
        "The images were generated, but the cache could not store them (it was still writing "
        "earlier images, or its disk is full), so it cannot serve them as URLs. Ask for "
        "response_format \"b64_json\" to receive them directly."));
  }
  ApiError error = ApiError::internal(
      "The images were generated but are too large for the cache (cache.max_bytes) to serve as "
      "URLs. Ask for response_format \"b64_json\" to receive them directly.");
  error.code = "image_not_cacheable";
  respondError(error);
}

// Links to an entry (url answers, the MCP tools' image URLs) go out once the store has written
// it, never before: a write that then failed, on a full disk, would leave them answering 404.
// kWritten: written, or read back from the store. kPending: still being written (the writer is
// usually done within milliseconds; awaitWrite polls). kLost: the write failed, or was not done
// within kRoomWait of the first look (after which no pending write is waited for again).
GenerationHandler::EntryWrite GenerationHandler::entryWrite(const cache::CacheEntry& entry) {
  using State = cache::WriteProgress::State;
  State state = entry.write ? entry.write->state() : State::kWritten;
  if (state == State::kPending && !write_waited_out_) {
    auto now = std::chrono::steady_clock::now();
    if (write_poll_ms_ == 0) write_deadline_ = now + kRoomWait;
    if (now < write_deadline_) return EntryWrite::kPending;
    write_waited_out_ = true;  // the writer is that far behind: no second wait on this request
  }
  write_poll_ms_ = 0;  // this wait is over; a later one starts afresh
  return state == State::kWritten ? EntryWrite::kWritten : EntryWrite::kLost;
}

// Runs resume after a short poll (1 ms, doubling up to kRoomPollMs), on the retry timer.
void GenerationHandler::awaitWrite(std::function<void()> resume) {
  write_poll_ms_ = std::clamp<int64_t>(write_poll_ms_ * 2, 1, kRoomPollMs);
  after_write_ = std::move(resume);
  armRetryTimer(write_poll_ms_);
}

// A url answer whose images the cache accepted but could not write.
void GenerationHandler::respondWriteLost() {
  images_not_kept_ = true;
  cache_unavailable_ = true;
  respondImagesNotCacheable();
}

}  // namespace arkroute
