// `arkroute mcp`: the stdio transport for agents whose config launches a command. Reads
// newline-delimited JSON-RPC from stdin, POSTs each message to a running gateway's /mcp
// (Streamable HTTP) and writes the answer as one line to stdout (nothing for 202). Logs go to
// stderr only. It keeps the Mcp-Session-Id and negotiated protocol version from initialize,
// re-initializes transparently when the gateway answers 404 (session expired, gateway restarted),
// answers a request with a JSON-RPC error when the gateway cannot be reached, and ends the
// session with DELETE at end of input.
#pragma once

#include <chrono>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "proxy/mcp/blocking_http_client.h"

namespace arkroute::mcp {

struct BridgeOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string api_key;  // sent as Authorization: Bearer when not empty
  std::chrono::milliseconds timeout{900'000};
};

class StdioBridge {
 public:
  StdioBridge(HttpTarget target, BridgeOptions options, std::ostream& out, std::ostream& log);

  // Runs until end of input; returns the process exit code.
  int run(std::istream& in);
  // Forwards one message (one line of input) and writes what the client must see.
  void forward(const std::string& line);
  void endSession();
  const std::string& sessionId() const { return session_id_; }

 private:
  BlockingResponse post(const std::string& body);
  bool reinitialize();
  void rememberVersion(const nlohmann::json& answer);  // from an initialize result
  void writeAnswer(const BlockingResponse& response, const nlohmann::json& request_id,
                   bool expects_answer);
  std::string describeFailure(const BlockingResponse& response) const;
  void writeError(const nlohmann::json& id, const std::string& message);

  BlockingHttpClient client_;
  BridgeOptions options_;
  std::ostream& out_;
  std::ostream& log_;
  std::string session_id_;
  std::string protocol_version_;
  std::string initialize_line_;  // replayed to re-open an expired session
  std::string open_failure_;     // why the last attempt to open a session failed
};

// Entry point for main.cc: flags {"url": ...}; the key comes from ARKROUTE_API_KEY.
int runStdioBridge(const std::map<std::string, std::string>& flags);

}  // namespace arkroute::mcp
