// Per-worker MCP wiring and the gateway's own origins.
#include "proxy/mcp_service.h"

#include "proxy/worker.h"

namespace arkroute {

namespace {

mcp::McpHttpOptions optionsFor(const Worker& worker) {
  const Config& config = worker.runtime().config();
  mcp::McpHttpOptions options;
  options.allowed_origins = mcpAllowedOrigins(config, worker.boundPort());
  options.default_model = config.mcp.default_model;
  options.server_version = ARKROUTE_VERSION;
  return options;
}

}  // namespace

McpService::McpService(Worker& worker, mcp::McpSessions& sessions)
    : backend_(worker), handler_(optionsFor(worker), sessions, backend_) {}

void McpService::handle(const std::shared_ptr<http::Exchange>& exchange,
                        const std::string& request_id) {
  handler_.handle(exchange, request_id);
}

std::vector<std::string> mcpAllowedOrigins(const Config& config, uint16_t bound_port) {
  std::vector<std::string> origins = config.mcp.allowed_origins;
  origins.push_back(config.server.public_url);
  const std::string& host = config.server.listen_host;
  std::string port = ":";
  port += std::to_string(bound_port ? bound_port : config.server.listen_port);
  bool v6 = host.find(':') != std::string::npos;
  std::string own = "http://";
  own.append(v6 ? "[" : "").append(host).append(v6 ? "]" : "").append(port);
  origins.push_back(std::move(own));
  bool loopback_or_any = host == "127.0.0.1" || host == "localhost" || host == "::1" ||
                         host == "0.0.0.0" || host == "::";
  if (loopback_or_any) {
    for (const char* name : {"127.0.0.1", "localhost", "[::1]"}) {
      origins.push_back(std::string("http://") + name + port);
    }
  }
  return origins;
}

}  // namespace arkroute
