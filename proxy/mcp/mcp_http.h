// The MCP Streamable HTTP endpoint (`/mcp`): turns HTTP requests into JSON-RPC dispatch and the
// transport's rules into status codes. POST carries one JSON-RPC message and gets one JSON object
// back (application/json; no SSE), or 202 with no body for notifications and client responses.
// `initialize` opens a session (Mcp-Session-Id header); every later message must carry it
// (missing → 400, unknown or expired → 404); DELETE ends it; GET → 405. Also enforced: Origin
// (DNS-rebinding protection, 403), the caller's credential (401), Accept (406), Content-Type
// (415) and MCP-Protocol-Version (absent → 2025-03-26, unsupported → 400). Transport-level
// rejections carry a JSON-RPC error object with id null. Runs on a worker's loop thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/http/server.h"
#include "proxy/mcp/json_rpc.h"
#include "proxy/mcp/mcp_backend.h"
#include "proxy/mcp/mcp_sessions.h"
#include "proxy/mcp/mcp_tools.h"

namespace arkroute::mcp {

// Newest first; the first is answered when a client asks for a version not in the list.
inline constexpr const char* kSupportedVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
inline constexpr const char* kDefaultHeaderVersion = "2025-03-26";

struct McpHttpOptions {
  // Origins allowed in an Origin header, as normalizeOrigin() returns them; "*" allows any.
  std::vector<std::string> allowed_origins;
  std::string default_model;  // "" = the first configured model
  std::string server_version;
};

// "HTTP://LocalHost:80/x" → "http://localhost"; "" when it is not scheme://host[:port][/...].
std::string normalizeOrigin(std::string_view origin);
// The version an initialize answers with: the client's when supported, else the newest.
std::string negotiateVersion(std::string_view requested);
bool isSupportedVersion(std::string_view version);

class McpHttpHandler {
 public:
  // sessions and backend must outlive the handler.
  McpHttpHandler(McpHttpOptions options, McpSessions& sessions, McpBackend& backend);

  // Handles any method on the MCP path; always answers exactly once (maybe later, for
  // tools/call). request_id goes into the x-request-id response header.
  void handle(const std::shared_ptr<http::Exchange>& exchange, const std::string& request_id);

 private:
  bool originAllowed(std::string_view origin) const;
  // For a browser caller whose Origin is allowed: Access-Control-Allow-Origin (that origin),
  // the headers it may read (Mcp-Session-Id) and Vary; empty for any other caller.
  http::Headers corsFor(const http::Exchange& exchange) const;
  void answerPreflight(http::Exchange& exchange, const std::string& request_id);
  bool admitted(http::Exchange& exchange, const std::string& request_id,
                const std::string& authorization);
  void handlePost(const std::shared_ptr<http::Exchange>& exchange, const std::string& request_id);
  void handleDelete(http::Exchange& exchange, const std::string& request_id);
  void initialize(http::Exchange& exchange, const std::string& request_id,
                  const JsonRpcMessage& message, const std::string& authorization);
  void dispatch(const std::shared_ptr<http::Exchange>& exchange, const std::string& request_id,
                const JsonRpcMessage& message, const std::string& authorization);
  void callTool(const std::shared_ptr<http::Exchange>& exchange, const std::string& request_id,
                const JsonRpcMessage& message, const std::string& authorization);

  McpHttpOptions options_;
  McpSessions& sessions_;
  McpBackend& backend_;
  McpTools tools_;
};

}  // namespace arkroute::mcp
