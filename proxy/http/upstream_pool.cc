// The upstream pool: FIFO queueing under max_connections, LIFO reuse of idle connections that
// passed the reject list, per-call timeouts (first byte, total) and request serialisation.
#include <event2/buffer.h>

#include "proxy/http/upstream_internal.h"

namespace arkroute::http {

namespace {

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

std::string hostHeader(const UpstreamEndpoint& endpoint) {
  bool v6 = endpoint.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + endpoint.host + "]" : endpoint.host;
  bool default_port = endpoint.port == (endpoint.tls ? 443 : 80);
  return default_port ? host : host + ":" + std::to_string(endpoint.port);
}

std::string serialize(const UpstreamEndpoint& endpoint, const OutgoingRequest& request) {
  std::string wire;
  wire.reserve(256 + request.body.size());
  wire.append(request.method).append(" ").append(request.path).append(" HTTP/1.1\r\nHost: ");
  wire.append(hostHeader(endpoint)).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    if (equalsIgnoreCase(name, "host") || equalsIgnoreCase(name, "content-length") ||
        equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "transfer-encoding")) {
      continue;
    }
    wire.append(name).append(": ").append(value).append("\r\n");
  }
  wire.append("Content-Length: ").append(std::to_string(request.body.size()));
  wire.append("\r\nConnection: keep-alive\r\n\r\n").append(request.body);
  return wire;
}

}  // namespace

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
  }
  return "unknown";
}

CallImpl::CallImpl(PoolCore& pool, std::string wire, UpstreamResponseHandler* handler)
    : pool_(pool), wire_(std::move(wire)), handler_(handler) {
  total_timer_ = evtimer_new(pool_.base, &CallImpl::onTotalTimeout, this);
  first_byte_timer_ = evtimer_new(pool_.base, &CallImpl::onFirstByteTimeout, this);
  timeval total = toTimeval(pool_.options.total_timeout);
  evtimer_add(total_timer_, &total);
}

CallImpl::~CallImpl() {
  cancel();
  event_free(total_timer_);
  event_free(first_byte_timer_);
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
  evtimer_del(total_timer_);
  evtimer_del(first_byte_timer_);
  if (connection_) {
    connection_->detachCall();
    connection_ = nullptr;
  } else {
    pool_.forget(this);
  }
}

void CallImpl::attach(UpstreamConnection* connection, bool reused) {
  connection_ = connection;
  reused_ = reused;
  if (paused_ && connection) connection->pauseReading();
}

void CallImpl::requestWritten() {
  timeval first_byte = toTimeval(pool_.options.first_byte_timeout);
  evtimer_add(first_byte_timer_, &first_byte);
}

void CallImpl::headArrived() {
  evtimer_del(first_byte_timer_);
}

void CallImpl::finished() {
  done_ = true;
  evtimer_del(total_timer_);
  evtimer_del(first_byte_timer_);
  connection_ = nullptr;
}

void CallImpl::failBeforeConnection(UpstreamError error) {
  UpstreamResponseHandler* handler = handler_;
  finished();
  pool_.forget(this);
  handler->onUpstreamError(error);
}

void CallImpl::timeout(std::string message) {
  if (done_) return;
  if (connection_) {
    connection_->failCall(UpstreamError::Kind::kTimeout, std::move(message));
  } else {
    failBeforeConnection({UpstreamError::Kind::kTimeout, std::move(message), false});
  }
}

void CallImpl::onTotalTimeout(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<CallImpl*>(arg);
  self->timeout("the upstream exchange exceeded " +
                std::to_string(self->pool_.options.total_timeout.count()) + " ms");
}

void CallImpl::onFirstByteTimeout(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<CallImpl*>(arg);
  self->timeout("no response from upstream within " +
                std::to_string(self->pool_.options.first_byte_timeout.count()) + " ms");
}

PoolCore::PoolCore(event_base* base_, evdns_base* dns_, UpstreamEndpoint endpoint_,
                   PoolOptions options_)
    : base(base_), dns(dns_), endpoint(std::move(endpoint_)), options(options_) {}

PoolCore::~PoolCore() {
  auto waiting_calls = std::move(waiting);
  for (CallImpl* call : waiting_calls) {
    call->failBeforeConnection({UpstreamError::Kind::kCancelled, "gateway shutting down", false});
  }
  auto open = all;
  for (UpstreamConnection* connection : open) {
    connection->failCall(UpstreamError::Kind::kCancelled, "gateway shutting down");
  }
  for (UpstreamConnection* connection : all) delete connection;
  for (UpstreamConnection* connection : closing_) delete connection;
}

void PoolCore::submit(CallImpl* call) {
  if (!idle.empty()) {
    UpstreamConnection* connection = idle.back();
    idle.pop_back();
    ++stats.connections_reused;
    startOn(call, connection, true);
    return;
  }
  if (all.size() < static_cast<size_t>(options.max_connections)) {
    openFor(call);
    return;
  }
  waiting.push_back(call);
}

void PoolCore::openFor(CallImpl* call) {
  auto* connection = new UpstreamConnection(*this, false);
  all.insert(connection);
  call->attach(connection, false);
  connection->connect(call);
}

void PoolCore::startOn(CallImpl* call, UpstreamConnection* connection, bool reused) {
  call->attach(connection, reused);
  connection->send(call);
}

void PoolCore::forget(CallImpl* call) {
  for (auto it = waiting.begin(); it != waiting.end(); ++it) {
    if (*it == call) {
      waiting.erase(it);
      return;
    }
  }
}

void PoolCore::release(UpstreamConnection* connection, bool reusable) {
  if (!reusable) {
    connection->closeSoon();
    return;
  }
  if (!waiting.empty()) {
    CallImpl* call = waiting.front();
    waiting.pop_front();
    ++stats.connections_reused;
    startOn(call, connection, true);
    return;
  }
  connection->makeIdle();
  idle.push_back(connection);
}

void PoolCore::retryOnFreshConnection(CallImpl* call) {
  openFor(call);
}

void PoolCore::connectionClosed(UpstreamConnection* connection) {
  std::erase(idle, connection);
  if (all.erase(connection)) closing_.insert(connection);
  serveWaiting();
}

void PoolCore::serveWaiting() {
  while (!waiting.empty() && all.size() < static_cast<size_t>(options.max_connections)) {
    CallImpl* call = waiting.front();
    waiting.pop_front();
    openFor(call);
  }
}

void PoolCore::destroy(UpstreamConnection* connection) {
  closing_.erase(connection);
  delete connection;
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
  auto call =
      std::make_unique<CallImpl>(impl_->core, serialize(impl_->core.endpoint, request), handler);
  impl_->core.submit(call.get());
  return call;
}

UpstreamPool::Stats UpstreamPool::stats() const {
  Stats stats = impl_->core.stats;
  stats.idle = impl_->core.idle.size();
  stats.busy = impl_->core.all.size() - impl_->core.idle.size();
  stats.waiting = impl_->core.waiting.size();
  return stats;
}

const UpstreamEndpoint& UpstreamPool::endpoint() const {
  return impl_->core.endpoint;
}

}  // namespace arkroute::http
