// Worker thread setup, request dispatch into the pipeline, runtime generations (config reload),
// the watchdog ping and graceful drain.
#include "proxy/worker.h"

#include <cstdlib>

#include "proxy/api_error.h"
#include "proxy/blocking_pool.h"
#include "proxy/endpoints.h"
#include "proxy/ledger.h"
#include "proxy/mcp_service.h"
#include "proxy/request_tracking.h"
#include "proxy/responses.h"
#include "proxy/thread_name.h"
#include "proxy/upstream_gate.h"

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
  if (services.connection_counters) {
    options.counters = services.connection_counters->forUpstream(upstream.name);
  }
  options.max_connections = upstream.max_connections;
  options.connect_timeout = upstream.connect_timeout;
  options.first_byte_timeout = upstream.first_byte_timeout;
  options.total_timeout = upstream.timeout;
  options.idle_timeout = upstream.idle_timeout;
  return options;
}

}  // namespace

Worker::Worker(size_t index, std::shared_ptr<const Runtime> runtime, Services& services)
    : index_(index), services_(services) {
  // Other threads reach this loop only through tasks_ (LoopTasks): no libevent locking needed.
  event_config* config = event_config_new();
  event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
  base_ = event_base_new_with_config(config);
  event_config_free(config);
  dns_ =
      evdns_base_new(base_, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  tasks_ = std::make_unique<LoopTasks>(base_);
  server_ = std::make_unique<http::HttpServer>(
      base_, limitsFrom(runtime->config().server),
      [this](std::shared_ptr<http::Exchange> exchange) { handle(std::move(exchange)); },
      [](int status, std::string_view message) { return serverErrorBody(status, message); });
  server_->onRejected([this](int status, const http::Request& request, uint64_t body_bytes) {
    return reportRejected(services_, status, request, body_bytes);
  });
  if (services_.accept_pauses) server_->countAcceptPausesIn(services_.accept_pauses);
  addGeneration(std::move(runtime));
  drain_timer_ = event_new(base_, -1, EV_PERSIST, &Worker::onDrainTimer, this);
  retire_timer_ = event_new(base_, -1, EV_PERSIST, &Worker::onRetireTimer, this);
  ledger_flush_ = event_new(base_, -1, 0, &Worker::onLedgerFlush, this);
}

// One RocksDB put per changed row per interval instead of one per request: at 25k requests/s the
// writes cost ~10% of a worker when done per request (or per loop iteration).
void Worker::scheduleLedgerFlush() {
  if (!services_.ledger || event_pending(ledger_flush_, EV_TIMEOUT, nullptr)) return;
  static const timeval kLedgerFlushInterval{0, 10'000};
  evtimer_add(ledger_flush_, &kLedgerFlushInterval);
}

// The write goes to the blocking pool when there is one: a RocksDB write joins the database's
// write group and may wait there for a cache write (a whole image) ahead of it.
void Worker::onLedgerFlush(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  Ledger* ledger = self->services_.ledger;
  if (self->services_.blocking) {
    self->services_.blocking->submit([ledger] { ledger->flush(); });
  } else {
    ledger->flush();
  }
}

void Worker::addGeneration(std::shared_ptr<const Runtime> runtime) {
  auto generation = std::make_unique<Generation>();
  const auto& upstreams = runtime->config().upstreams;
  for (size_t i = 0; i < upstreams.size(); ++i) {
    http::UpstreamEndpoint endpoint{upstreams[i].name, upstreams[i].tls, upstreams[i].host,
                                    upstreams[i].port, runtime->tlsContext(i)};
    generation->pools.push_back(std::make_unique<http::UpstreamPool>(
        base_, dns_, std::move(endpoint), poolOptionsFrom(upstreams[i], services_)));
    if (services_.gates) generation->gates.push_back(&services_.gates->gate(upstreams[i].name));
  }
  // A handle of this worker's own: its use count is the number of this worker's requests (and
  // the worker itself) holding the Runtime, whatever the other workers do.
  current_ = std::shared_ptr<const Runtime>(runtime.get(), [keep = runtime](const Runtime*) {});
  generation->lent = current_;
  generation->runtime = std::move(runtime);
  generations_.push_back(std::move(generation));
}

Worker::Generation& Worker::generationOf(const Runtime& runtime) {
  for (auto it = generations_.rbegin(); it != generations_.rend(); ++it) {
    if ((*it)->runtime.get() == &runtime) return **it;
  }
  // Unreachable while the caller holds runtime: its generation is only retired once unheld.
  std::abort();
}

http::UpstreamPool& Worker::pool(const Runtime& runtime, size_t upstream_index) {
  return *generationOf(runtime).pools[upstream_index];
}

UpstreamGate& Worker::gate(const Runtime& runtime, size_t upstream_index) {
  return *generationOf(runtime).gates.at(upstream_index);
}

void Worker::adoptRuntime(std::shared_ptr<const Runtime> runtime, std::function<void()> adopted) {
  tasks_->post([this, runtime = std::move(runtime), adopted = std::move(adopted)]() mutable {
    addGeneration(std::move(runtime));
    retireIdleGenerations();
    if (generations_.size() > 1 && !event_pending(retire_timer_, EV_TIMEOUT, nullptr)) {
      timeval every{1, 0};
      event_add(retire_timer_, &every);
    }
    if (adopted) adopted();
  });
}

void Worker::onRetireTimer(evutil_socket_t, short, void* arg) {
  static_cast<Worker*>(arg)->retireIdleGenerations();
}

// Runs from its own loop callback, never inside a request's: by the time a request's last hold on
// its Runtime is gone, its upstream call has been destroyed too.
void Worker::retireIdleGenerations() {
  for (size_t i = 0; i + 1 < generations_.size();) {
    if (generations_[i]->lent.expired()) {
      generations_.erase(generations_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  if (generations_.size() == 1) event_del(retire_timer_);
}

bool Worker::pingLoop() {
  bool answered = pings_answered_.load() == pings_sent_.load();
  uint64_t number = ++pings_sent_;
  tasks_->post([this, number] { pings_answered_.store(number); });
  return answered;
}

// The loop has stopped: requests still open end here, in an order where their log phase can run
// (it schedules a ledger flush), and the last flush writes what they added.
Worker::~Worker() {
  join();
  mcp_.reset();
  event_free(drain_timer_);
  event_free(retire_timer_);
  server_.reset();       // clients still connected are gone: their requests finish or go on alone
  stopBackgroundWork();  // those that went on alone: upstream calls cancelled, log phase run
  if (services_.ledger) services_.ledger->flush();  // anything this loop left unwritten
  event_free(ledger_flush_);
  current_.reset();
  generations_.clear();
  tasks_.reset();
  evdns_base_free(dns_, 0);
  event_base_free(base_);
}

bool Worker::listen(const std::string& host, uint16_t port, bool reuse_port, std::string* error) {
  return server_->listen(host, port, reuse_port, error);
}

void Worker::start() {
  thread_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
  nameThread(thread_, "ark-worker-" + std::to_string(index_));
}

void Worker::offLoop(std::function<std::function<void()>()> job, std::function<void()> if_failed,
                     Lane lane) {
  BlockingPool* pool = lane == Lane::kRead ? services_.blocking : services_.maintenance;
  if (!pool) {
    continuationOf(job, std::move(if_failed))();
    return;
  }
  LoopTasks* tasks = tasks_.get();  // outlives the pools' jobs: the Gateway stops them first
  pool->submit([job = std::move(job), if_failed = std::move(if_failed), tasks]() mutable {
    tasks->post(continuationOf(job, std::move(if_failed)));
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::handle(std::shared_ptr<http::Exchange> exchange) {
  // The handler gets its own reference: this one keeps the exchange for a 500 if it throws.
  std::string request_id = requestIdFor(exchange->request());
  answerInternalErrors(*exchange, request_id,
                       [&] { dispatchRequest(*this, exchange, request_id); });
}

McpService* Worker::mcp() {
  if (!mcp_ && services_.mcp_sessions) {
    mcp_ = std::make_unique<McpService>(*this, *services_.mcp_sessions);
  }
  return mcp_.get();
}

uint64_t Worker::addBackgroundWork(std::function<void()> stop) {
  uint64_t id = next_background_id_++;
  background_.emplace(id, std::move(stop));
  return id;
}

void Worker::stopBackgroundWork() {
  while (!background_.empty()) {  // each stop removes its own entry, and may not add another
    auto first = background_.begin();
    auto stop = std::move(first->second);
    background_.erase(first);
    stop();
  }
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
  // Finished responses still being written count too: their connections close once flushed. So
  // do cache fills whose clients left: stopping them would throw away a paid generation.
  bool idle =
      server_->activeExchanges() == 0 && server_->openConnections() == 0 && background_.empty();
  if (idle || std::chrono::steady_clock::now() >= drain_deadline_) {
    event_del(drain_timer_);
    event_base_loopexit(base_, nullptr);
  }
}

}  // namespace arkroute
