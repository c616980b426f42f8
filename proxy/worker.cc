// Worker thread setup, request dispatch into the pipeline, and graceful drain.
#include "proxy/worker.h"

#include "proxy/api_error.h"
#include "proxy/endpoints.h"
#include "proxy/request_tracking.h"

namespace arkroute {

namespace {

http::ServerLimits limitsFrom(const ServerConfig& server) {
  http::ServerLimits limits;
  limits.max_body_bytes = server.max_body_bytes;
  limits.max_header_bytes = server.max_header_bytes;
  limits.idle_timeout = server.idle_timeout;
  limits.request_timeout = server.request_timeout;
  limits.write_timeout = server.write_timeout;
  return limits;
}

http::PoolOptions poolOptionsFrom(const UpstreamConfig& upstream, const Services& services) {
  http::PoolOptions options;
  auto counters = services.connection_counters.find(upstream.name);
  if (counters != services.connection_counters.end()) options.counters = counters->second;
  options.max_connections = upstream.max_connections;
  options.connect_timeout = upstream.connect_timeout;
  options.first_byte_timeout = upstream.first_byte_timeout;
  options.total_timeout = upstream.timeout;
  options.idle_timeout = upstream.idle_timeout;
  return options;
}

}  // namespace

Worker::Worker(size_t index, std::shared_ptr<const Runtime> runtime, Services& services)
    : index_(index), runtime_(std::move(runtime)), services_(services) {
  base_ = event_base_new();
  dns_ =
      evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  tasks_ = std::make_unique<LoopTasks>(base_);
  server_ = std::make_unique<http::HttpServer>(
      base_, limitsFrom(runtime_->config().server),
      [this](std::shared_ptr<http::Exchange> exchange) { handle(std::move(exchange)); },
      [](int status, std::string_view message) { return serverErrorBody(status, message); });
  server_->onRejected([this](int status, const http::Request& request, uint64_t body_bytes) {
    reportRejected(services_, status, request, body_bytes);
  });
  const auto& upstreams = runtime_->config().upstreams;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    http::UpstreamEndpoint endpoint{upstreams[i].name, upstreams[i].tls, upstreams[i].host,
                                    upstreams[i].port, runtime_->tlsContext(i)};
    pools_.push_back(std::make_unique<http::UpstreamPool>(
        base_, dns_, std::move(endpoint), poolOptionsFrom(upstreams[i], services_)));
  }
  drain_timer_ = event_new(base_, -1, EV_PERSIST, &Worker::onDrainTimer, this);
}

Worker::~Worker() {
  join();
  event_free(drain_timer_);
  server_.reset();
  pools_.clear();
  tasks_.reset();
  evdns_base_free(dns_, 0);
  event_base_free(base_);
}

bool Worker::listen(const std::string& host, uint16_t port, bool reuse_port, std::string* error) {
  return server_->listen(host, port, reuse_port, error);
}

void Worker::start() {
  thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::handle(std::shared_ptr<http::Exchange> exchange) {
  dispatchRequest(*this, std::move(exchange));
}

void Worker::beginDrain(std::chrono::milliseconds drain_timeout) {
  tasks_->post([this, drain_timeout] {
    server_->stopAccepting();
    drain_deadline_ = std::chrono::steady_clock::now() + drain_timeout;
    timeval every{0, 20'000};
    event_add(drain_timer_, &every);
    drainTick();
  });
}

void Worker::onDrainTimer(evutil_socket_t, short, void* arg) {
  static_cast<Worker*>(arg)->drainTick();
}

void Worker::drainTick() {
  bool idle = server_->activeExchanges() == 0;
  if (idle || std::chrono::steady_clock::now() >= drain_deadline_) {
    event_del(drain_timer_);
    event_base_loopexit(base_, nullptr);
  }
}

}  // namespace arkroute
