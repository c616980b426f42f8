// The gateway's observability, built once at startup from [log] and the upstream list: the
// metrics registry (GET /metrics) with the request metrics, the cache collectors and the upstream
// connection counters, and the JSON access log. create() wires them into Services (observers,
// metrics pointers, connection counters the pools add to) before the workers start; stop()
// writes out the access log after they ended.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/ops/access_log.h"
#include "proxy/ops/metrics_registry.h"
#include "proxy/ops/metrics_requests.h"
#include "proxy/services.h"

namespace arkroute {

class Observability {
 public:
  // nullptr and *error when the access log file cannot be opened. Call after the cache is open
  // (services.store and coalescer set) and before any worker runs.
  static std::unique_ptr<Observability> create(const Config& config, Services& services,
                                               std::string* error);
  ~Observability();
  Observability(const Observability&) = delete;
  Observability& operator=(const Observability&) = delete;

  // After the workers stopped: writes out the access log.
  void stop();

  ops::MetricsRegistry& registry() { return registry_; }
  ops::RequestMetrics& requests() { return *requests_; }
  ops::AccessLog* accessLog() { return access_log_.get(); }  // null when access_log = "off"

 private:
  Observability() = default;
  void registerConnectionMetrics(Services& services, const std::vector<std::string>& upstreams);
  void registerAccessLogMetrics();
  // A counter the workers add to, registered under name.
  std::shared_ptr<std::atomic<uint64_t>> sharedCounter(const std::string& name,
                                                       const std::string& help);
  void registerAcceptMetrics(Services& services);
  void registerCacheWaitMetric(Services& services);

  ops::MetricsRegistry registry_;
  std::shared_ptr<ops::RequestMetrics> requests_;
  std::shared_ptr<ops::AccessLog> access_log_;
};

}  // namespace arkroute
