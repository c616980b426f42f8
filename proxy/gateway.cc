// Worker startup on a shared port (SO_REUSEPORT) and coordinated drain.
#include "proxy/gateway.h"

#include <thread>

namespace arkroute {

Gateway::Gateway(std::shared_ptr<const Config> config) : config_(std::move(config)) {}

Gateway::~Gateway() {
  drainAndStop();
}

bool Gateway::start(std::string* error) {
  runtime_ = Runtime::create(config_, error);
  if (!runtime_) return false;
  int count = config_->server.workers;
  if (count <= 0) count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool reuse_port = count > 1;
  uint16_t port = config_->server.listen_port;
  for (int i = 0; i < count; ++i) {
    auto worker = std::make_unique<Worker>(static_cast<size_t>(i), runtime_);
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

void Gateway::drainAndStop() {
  for (auto& worker : workers_) worker->beginDrain(config_->server.drain_timeout);
  for (auto& worker : workers_) worker->join();
  workers_.clear();
}

}  // namespace arkroute
