// A request in flight: owns the serialised request, its places in the pool's total and
// first-byte timeout lists and the caller's pause state, and is the single place the final
// callbacks leave from.
#include <event2/buffer.h>

#include "proxy/http/error_line.h"
#include "proxy/http/upstream_handler_failure.h"
#include "proxy/http/upstream_internal.h"
#include "proxy/http/upstream_request.h"

namespace arkroute::http {

namespace {

// Bodies up to this size are appended to the head and written with one evbuffer_add; larger ones
// are written by reference so the (image-sized) body is never copied.
constexpr size_t kInlineBodyLimit = 64 * 1024;

void releaseBody(const void*, size_t, void* extra) {
  delete static_cast<std::shared_ptr<const void>*>(extra);
}

}  // namespace

CallImpl::CallImpl(PoolCore& pool, OutgoingRequest&& request, UpstreamResponseHandler* handler)
    : pool_(&pool),
      handler_(handler),
      total_timeout_(this),
      first_byte_timeout_(this),
      head_request_(equalsIgnoreCase(request.method, "HEAD")) {
  std::string_view body = request.bodyView();
  bool inline_body = body.size() <= kInlineBodyLimit;
  wire_.reserve(256 + request.path.size() + request.headers.size() * 48 +
                (inline_body ? body.size() : 0));
  appendRequestHead(pool.hostHeader(), request, &wire_);
  if (inline_body) {
    wire_.append(body);
  } else if (!request.body.empty()) {
    auto owned = std::make_shared<const std::string>(std::move(request.body));
    large_body_ = *owned;
    large_body_owner_ = std::move(owned);
  } else {
    large_body_ = body;
    large_body_owner_ = std::move(request.body_owner);
  }
  pool.totalTimeouts().start(&total_timeout_);
}

CallImpl::~CallImpl() {
  if (destroyed_) *destroyed_ = true;
  cancel();
  if (pool_) pool_->remove(this);
  stopTimeouts();
}

void CallImpl::stopTimeouts() {
  if (!pool_) return;  // the pool and its lists are gone (poolGone stopped them first)
  pool_->totalTimeouts().stop(&total_timeout_);
  pool_->firstByteTimeouts().stop(&first_byte_timeout_);
}

void CallImpl::pauseReading() {
  paused_ = true;
  if (connection_) connection_->pauseReading();
}

void CallImpl::resumeReading() {
  paused_ = false;
  if (connection_) connection_->resumeReading();
}

void CallImpl::cancel() {
  if (done_) return;
  done_ = true;
  stopTimeouts();
  UpstreamConnection* connection = connection_;
  connection_ = nullptr;
  if (connection) {
    connection->abandonCall();
  } else if (pool_) {
    pool_->forget(this);
  }
}

void CallImpl::attach(UpstreamConnection* connection, bool reused) {
  connection_ = connection;
  reused_ = reused;
}

void CallImpl::detachForRetry() {
  connection_ = nullptr;
  retried_ = true;
  flushed_ = false;  // the stale connection took it nowhere: it is sent again
  pool_->firstByteTimeouts().stop(&first_byte_timeout_);
}

void CallImpl::writeRequest(evbuffer* output) const {
  evbuffer_add(output, wire_.data(), wire_.size());
  if (large_body_.empty()) return;
  auto* keep = new std::shared_ptr<const void>(large_body_owner_);
  evbuffer_add_reference(output, large_body_.data(), large_body_.size(), &releaseBody, keep);
}

void CallImpl::requestFlushed() {
  if (done_ || head_arrived_) return;
  flushed_ = true;
  pool_->firstByteTimeouts().start(&first_byte_timeout_);
}

void CallImpl::headArrived() {
  head_arrived_ = true;
  pool_->firstByteTimeouts().stop(&first_byte_timeout_);
}

UpstreamResponseHandler* CallImpl::finish() {
  done_ = true;
  stopTimeouts();
  connection_ = nullptr;
  return handler_;
}

void CallImpl::complete() {
  endWith([](UpstreamResponseHandler& handler) { handler.onUpstreamComplete(); }, false);
}

void CallImpl::fail(const UpstreamError& error) {
  UpstreamError told = error;
  told.awaited_answer = awaitingAnswer();  // read before finish() marks the call done
  endWith([&told](UpstreamResponseHandler& handler) { handler.onUpstreamError(told); }, true);
}

// Runs the call's last callback. The handler may destroy this call inside it: destroyed_ points at
// a flag on this stack meanwhile. Should onUpstreamComplete throw while the call still exists, the
// handler gets onUpstreamError(kHandler) so it can still answer; what no callback is left to
// receive goes to stderr.
template <class Callback>
void CallImpl::endWith(Callback&& last_callback, bool is_error) {
  UpstreamResponseHandler* handler = finish();
  bool destroyed = false;
  destroyed_ = &destroyed;
  try {
    last_callback(*handler);
  } catch (...) {
    std::string what = exceptionText(std::current_exception());
    bool told = false;
    if (!destroyed && !is_error) {
      try {
        handler->onUpstreamError(UpstreamError{UpstreamError::Kind::kHandler, what, true});
        told = true;
      } catch (...) {
        what += "; then onUpstreamError threw: " + exceptionText(std::current_exception());
      }
    }
    if (!told) {
      reportHandlerFailure(destroyed || !pool_ ? "" : pool_->endpoint().name,
                           "at the end of its call", what);
    }
  }
  if (!destroyed) destroyed_ = nullptr;
}

void CallImpl::poolGone() {
  finish();
  pool_ = nullptr;
}

void CallImpl::timeout(std::string message) {
  if (done_) return;
  if (connection_) {
    connection_->failCall(UpstreamError::Kind::kTimeout, std::move(message));
    return;
  }
  pool_->forget(this);
  fail(UpstreamError{UpstreamError::Kind::kTimeout, std::move(message), false});
}

void CallImpl::onTotalTimeout(void* arg) {
  auto* self = static_cast<CallImpl*>(arg);
  self->timeout("upstream call exceeded the total timeout of " +
                std::to_string(self->pool_->options().total_timeout.count()) + " ms");
}

void CallImpl::onFirstByteTimeout(void* arg) {
  auto* self = static_cast<CallImpl*>(arg);
  self->timeout("no response from upstream within " +
                std::to_string(self->pool_->options().first_byte_timeout.count()) + " ms");
}

}  // namespace arkroute::http
