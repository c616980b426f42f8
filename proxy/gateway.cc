// Gateway startup (cache, runtime, workers on a shared SO_REUSEPORT port) and coordinated drain.
#include "proxy/gateway.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "cache/rocks_store.h"
#include "proxy/http/error_line.h"
#include "proxy/thread_name.h"

namespace arkroute {

namespace {

// Threads for database work that may wait (cache reads that miss the in-memory hot set, ledger
// writes): disk-bound, so a few are enough whatever the core count.
constexpr size_t kBlockingThreads = 2;

}  // namespace

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Gateway::Gateway(std::shared_ptr<const Config> config) : config_(std::move(config)) {
  services_.now_ms = systemNowMs;
}

Gateway::~Gateway() {
  drainAndStop();
}

bool Gateway::openState(std::string* error) {
  if (!config_->cache.path.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(config_->cache.path, ignored);
    database_ = cache::RocksDatabase::open(config_->cache.path, error);
    if (!database_) return false;
    keys_table_ = cache::openFamilyTable(database_, cache::RocksDatabase::kKeysFamily);
    ledger_table_ = cache::openFamilyTable(database_, cache::RocksDatabase::kLedgerFamily);
    services_.database_writes_stopped = [database = database_.get()] {
      return database->writesStopped();
    };
    services_.database_path = cache::RocksDatabase::canonicalPath(config_->cache.path);
    services_.database_path_as_written = cache::RocksDatabase::lexicalPath(config_->cache.path);
  } else {  // no state directory: keys and the ledger live as long as the process
    keys_table_ = std::make_unique<cache::MemoryKeyValueTable>();
    ledger_table_ = std::make_unique<cache::MemoryKeyValueTable>();
  }
  keys_ = std::make_unique<KeyRegistry>(*keys_table_);
  ledger_ = std::make_shared<Ledger>(*ledger_table_);
  services_.keys = keys_.get();
  services_.ledger = ledger_.get();
  services_.key_limits = &key_limits_;
  services_.observers.push_back(ledger_);
  return openCache(error);
}

bool Gateway::openCache(std::string* error) {
  if (!config_->cache.enabled || !database_) return true;
  cache::RocksCacheStore::Options options;
  options.max_bytes = config_->cache.max_bytes;
  options.max_pending_bytes = config_->cache.max_pending_bytes;
  options.hot_bytes = config_->cache.memory_bytes;  // 0: the store's default
  store_ = std::make_unique<cache::RocksCacheStore>(database_, options);
  coalescer_ = std::make_unique<cache::Coalescer>();
  services_.store = store_.get();
  services_.coalescer = coalescer_.get();
  sweeper_ = std::thread([this] { sweepLoop(); });
  nameThread(sweeper_, "ark-sweeper");
  return true;
}

void Gateway::sweepLoop() {
  std::unique_lock lock(sweeper_mutex_);
  while (!stopping_) {
    sweeper_wake_.wait_for(lock, std::chrono::minutes(1));
    if (stopping_) return;
    lock.unlock();
    store_->sweepExpired(services_.now_ms());
    lock.lock();
  }
}

bool Gateway::start(std::string* error) {
  runtime_ = Runtime::create(config_, error);
  if (!runtime_ || !openState(error)) return false;
  blocking_ = std::make_unique<BlockingPool>(kBlockingThreads, "ark-blocking");
  maintenance_ = std::make_unique<BlockingPool>(1, "ark-maint");
  services_.blocking = blocking_.get();
  services_.maintenance = maintenance_.get();
  gates_ = std::make_unique<UpstreamGates>(services_.now_ms);
  gates_->configure(config_->upstreams);
  services_.gates = gates_.get();
  if (config_->mcp.enabled) {
    mcp_sessions_ = std::make_unique<mcp::McpSessions>(config_->mcp.session_ttl,
                                                       config_->mcp.max_sessions, services_.now_ms);
    services_.mcp_sessions = mcp_sessions_.get();
  }
  observability_ = Observability::create(*config_, services_, error);
  if (!observability_) return false;
  int count = config_->server.workers;
  if (count <= 0) count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool reuse_port = count > 1;
  uint16_t port = config_->server.listen_port;
  if (reuse_port && port != 0 &&
      !http::HttpServer::portIsFree(config_->server.listen_host, port, error)) {
    return false;
  }
  for (int i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>(static_cast<size_t>(i), runtime_, services_);
    if (!worker->listen(config_->server.listen_host, port, reuse_port, error)) return false;
    port = worker->boundPort();  // an ephemeral port is chosen once, then shared
    workers_.push_back(std::move(worker));
  }
  port_ = port;
  for (auto& worker : workers_) worker->start();
  return true;
}

std::string Gateway::listenUrl() const {
  const std::string& host = config_->server.listen_host;
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port_);
}

bool Gateway::reload(std::shared_ptr<const Config> config, std::string* error) {
  auto runtime = Runtime::create(config, error);
  if (!runtime) return false;
  gates_->configure(config->upstreams);  // new upstreams get gates; changed limits apply now
  struct Countdown {
    std::mutex mutex;
    std::condition_variable done;
    size_t left;
  };
  auto countdown = std::make_shared<Countdown>();
  countdown->left = workers_.size();
  for (auto& worker : workers_) {
    worker->adoptRuntime(runtime, [countdown] {
      std::lock_guard lock(countdown->mutex);
      if (--countdown->left == 0) countdown->done.notify_all();
    });
  }
  {
    std::unique_lock lock(countdown->mutex);
    countdown->done.wait_for(lock, std::chrono::seconds(5), [&] { return countdown->left == 0; });
  }
  config_ = std::move(config);
  runtime_ = std::move(runtime);
  return true;
}

bool Gateway::workersResponsive() {
  bool all = true;
  for (auto& worker : workers_) all = worker->pingLoop() && all;
  return all;
}

void Gateway::drainAndStop() {
  for (auto& worker : workers_) worker->beginDrain(config_->server.drain_timeout);
  for (auto& worker : workers_) worker->join();
  // Their last jobs post to the workers' task queues, which live until workers_ is cleared.
  if (blocking_) blocking_->stop();
  if (maintenance_) maintenance_->stop();
  workers_.clear();
  {
    std::lock_guard lock(sweeper_mutex_);
    stopping_ = true;
  }
  sweeper_wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  if (ledger_) {
    ledger_->flush();
    if (size_t lost = ledger_->unwrittenRows()) {
      http::writeErrorLine("arkroute: ledger: " + std::to_string(lost) +
                           " row(s) could not be written (the cache database stopped writing): "
                           "the requests and spend they counted since then are lost");
    }
  }
  if (store_) store_->flush();
  if (observability_) observability_->stop();  // the last access-log lines
}

}  // namespace arkroute
