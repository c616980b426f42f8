// The upstream pool: at most max_connections open (busy + idle), calls beyond that wait in FIFO
// order, idle connections that passed the reject list are reused LIFO, and the public UpstreamPool
// facade over it.
#include <algorithm>

#include "proxy/http/upstream_internal.h"
#include "proxy/http/upstream_request.h"

namespace arkroute::http {

std::string_view toString(UpstreamError::Kind kind) {
  switch (kind) {
    case UpstreamError::Kind::kDns:
      return "dns";
    case UpstreamError::Kind::kConnect:
      return "connect";
    case UpstreamError::Kind::kTls:
      return "tls";
    case UpstreamError::Kind::kTimeout:
      return "timeout";
    case UpstreamError::Kind::kReset:
      return "reset";
    case UpstreamError::Kind::kProtocol:
      return "protocol";
    case UpstreamError::Kind::kCancelled:
      return "cancelled";
    case UpstreamError::Kind::kHandler:
      return "handler";
  }
  return "unknown";
}

PoolCore::PoolCore(event_base* base, evdns_base* dns, UpstreamEndpoint endpoint,
                   PoolOptions options)
    : base_(base),
      dns_(dns),
      endpoint_(std::move(endpoint)),
      host_header_(hostHeaderValue(endpoint_)),
      options_(options),
      total_timeouts_(base, options.total_timeout, &CallImpl::onTotalTimeout),
      first_byte_timeouts_(base, options.first_byte_timeout, &CallImpl::onFirstByteTimeout) {
  options_.max_connections = std::max(1, options_.max_connections);
}

// Calls still alive become inert (no more callbacks: their handlers may already be gone during
// shutdown), then every connection is closed.
PoolCore::~PoolCore() {
  shutting_down_ = true;
  for (CallImpl* call = calls_; call != nullptr;) {
    CallImpl* next = call->next_in_pool;
    call->prev_in_pool = call->next_in_pool = nullptr;
    call->poolGone();
    call = next;
  }
  calls_ = nullptr;
  waiting_.clear();
  for (UpstreamConnection* connection : open_) delete connection;
  for (UpstreamConnection* connection : closing_) delete connection;
}

bool PoolCore::hasFreeSlot() const {
  return open_.size() < static_cast<size_t>(options_.max_connections);
}

void PoolCore::add(CallImpl* call) {
  call->prev_in_pool = nullptr;
  call->next_in_pool = calls_;
  if (calls_) calls_->prev_in_pool = call;
  calls_ = call;
  if (!idle_.empty()) {
    UpstreamConnection* connection = idle_.back();
    idle_.pop_back();
    startOn(call, connection);
  } else if (hasFreeSlot()) {
    openFor(call);
  } else {
    waiting_.push_back(call);
  }
}

void PoolCore::remove(CallImpl* call) {
  if (call->prev_in_pool) {
    call->prev_in_pool->next_in_pool = call->next_in_pool;
  } else if (calls_ == call) {
    calls_ = call->next_in_pool;
  }
  if (call->next_in_pool) call->next_in_pool->prev_in_pool = call->prev_in_pool;
  call->prev_in_pool = call->next_in_pool = nullptr;
}

void PoolCore::forget(CallImpl* call) {
  auto it = std::find(waiting_.begin(), waiting_.end(), call);
  if (it != waiting_.end()) waiting_.erase(it);
}

void PoolCore::startOn(CallImpl* call, UpstreamConnection* connection) {
  ++stats_.connections_reused;
  if (options_.counters) options_.counters->reused.add(1);
  call->attach(connection, true);
  connection->send(call);
}

void PoolCore::openFor(CallImpl* call) {
  auto* connection = new UpstreamConnection(*this);
  open_.insert(connection);
  call->attach(connection, false);
  connection->connect(call);
}

void PoolCore::release(UpstreamConnection* connection) {
  if (!waiting_.empty()) {
    CallImpl* call = waiting_.front();
    waiting_.pop_front();
    startOn(call, connection);
    return;
  }
  connection->makeIdle();
  idle_.push_back(connection);
}

void PoolCore::connectionClosed(UpstreamConnection* connection, CallImpl* retry) {
  std::erase(idle_, connection);
  if (open_.erase(connection)) closing_.insert(connection);
  if (shutting_down_) return;
  if (retry) openFor(retry);
  serveWaiting();
}

void PoolCore::serveWaiting() {
  while (!waiting_.empty() && hasFreeSlot()) {
    CallImpl* call = waiting_.front();
    waiting_.pop_front();
    openFor(call);
  }
}

void PoolCore::destroy(UpstreamConnection* connection) {
  closing_.erase(connection);
  delete connection;
}

UpstreamPool::Stats PoolCore::stats() const {
  UpstreamPool::Stats stats = stats_;
  stats.idle = idle_.size();
  stats.busy = open_.size() - idle_.size();
  stats.waiting = waiting_.size();
  return stats;
}

struct UpstreamPool::Impl {
  Impl(event_base* base, evdns_base* dns, UpstreamEndpoint endpoint, PoolOptions options)
      : core(base, dns, std::move(endpoint), options) {}
  PoolCore core;
};

UpstreamPool::UpstreamPool(event_base* base, evdns_base* dns, UpstreamEndpoint endpoint,
                           PoolOptions options)
    : impl_(std::make_unique<Impl>(base, dns, std::move(endpoint), options)) {}

UpstreamPool::~UpstreamPool() = default;

std::unique_ptr<UpstreamCall> UpstreamPool::start(OutgoingRequest request,
                                                  UpstreamResponseHandler* handler) {
  auto call = std::make_unique<CallImpl>(impl_->core, std::move(request), handler);
  impl_->core.add(call.get());
  return call;
}

UpstreamPool::Stats UpstreamPool::stats() const {
  return impl_->core.stats();
}

const UpstreamEndpoint& UpstreamPool::endpoint() const {
  return impl_->core.endpoint();
}

}  // namespace arkroute::http
