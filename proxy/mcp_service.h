// A worker's MCP endpoint: the GatewayMcpBackend bound to this worker (generations run on its
// loop) and the Streamable HTTP handler, configured from [mcp] (allowed origins, default model)
// plus the gateway's own origins (server.public_url and the listen address). Sessions are shared
// by all workers through Services::mcp_sessions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/mcp/mcp_http.h"
#include "proxy/mcp_backend_impl.h"

namespace arkroute {

class Worker;
struct Config;

class McpService {
 public:
  McpService(Worker& worker, mcp::McpSessions& sessions);
  void handle(const std::shared_ptr<http::Exchange>& exchange, const std::string& request_id);

 private:
  GatewayMcpBackend backend_;
  mcp::McpHttpHandler handler_;
};

// The origins a browser page served by this gateway would send: public_url's, the listen
// address's (with localhost/127.0.0.1/[::1] spellings for loopback and wildcard listeners), plus
// [mcp] allowed_origins.
std::vector<std::string> mcpAllowedOrigins(const Config& config, uint16_t bound_port);

}  // namespace arkroute
