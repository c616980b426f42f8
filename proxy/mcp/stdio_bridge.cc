// The stdio ↔ Streamable HTTP bridge loop.
#include "proxy/mcp/stdio_bridge.h"

#include <cstdlib>
#include <iostream>

#include "proxy/json_text.h"
#include "proxy/mcp/json_rpc.h"

namespace arkroute::mcp {

namespace {

bool isRequest(const nlohmann::json& message) {
  return message.is_object() && message.contains("method") && message.contains("id") &&
         !message["id"].is_null();
}

}  // namespace

StdioBridge::StdioBridge(HttpTarget target, BridgeOptions options, std::ostream& out,
                         std::ostream& log)
    : client_(std::move(target), options.timeout),
      options_(std::move(options)),
      out_(out),
      log_(log) {}

BlockingResponse StdioBridge::post(const std::string& body) {
  http::Headers headers;
  headers.set("Content-Type", "application/json");
  headers.set("Accept", "application/json, text/event-stream");
  if (!options_.api_key.empty()) headers.set("Authorization", "Bearer " + options_.api_key);
  if (!session_id_.empty()) headers.set("Mcp-Session-Id", session_id_);
  if (!protocol_version_.empty()) headers.set("MCP-Protocol-Version", protocol_version_);
  BlockingResponse response = client_.send("POST", headers, body);
  if (auto session = response.headers.find("Mcp-Session-Id")) session_id_ = *session;
  return response;
}

void StdioBridge::rememberVersion(const nlohmann::json& answer) {
  if (!answer.is_object() || !answer.contains("result") || !answer["result"].is_object()) return;
  const nlohmann::json& result = answer["result"];
  if (result.contains("protocolVersion") && result["protocolVersion"].is_string()) {
    protocol_version_ = result["protocolVersion"].get<std::string>();
  }
}

void StdioBridge::writeError(const nlohmann::json& id, const std::string& message) {
  out_ << makeError(id, rpc::kInternalError, message).dump() << "\n" << std::flush;
}

void StdioBridge::writeAnswer(const BlockingResponse& response, const nlohmann::json& request_id) {
  if (response.status == 0) {
    log_ << "arkroute mcp: " << options_.url << ": " << response.error << "\n";
    if (!request_id.is_null()) {
      writeError(request_id,
                 "Cannot reach the ArkRoute gateway at " + options_.url + ": " + response.error);
    }
    return;
  }
  if (response.status == 202 || response.body.empty()) return;
  nlohmann::json answer = nlohmann::json::parse(response.body, nullptr, false);
  if (answer.is_object() && answer.contains("jsonrpc")) {
    if (answer.contains("error") && answer["id"].is_null() && !request_id.is_null()) {
      answer["id"] = request_id;  // a transport-level rejection of this request
    }
    rememberVersion(answer);
    out_ << json_text::dump(answer) << "\n"  // an image answer: not nlohmann's per-byte dump
         << std::flush;
    return;
  }
  log_ << "arkroute mcp: HTTP " << response.status << " from " << options_.url << ": "
       << response.body.substr(0, 300) << "\n";
  if (request_id.is_null()) return;
  std::string message = "The gateway answered HTTP " + std::to_string(response.status);
  if (answer.is_object() && answer.contains("error") && answer["error"].is_object() &&
      answer["error"].contains("message") && answer["error"]["message"].is_string()) {
    message += ": " + answer["error"]["message"].get<std::string>();
  }
  writeError(request_id, message);
}

bool StdioBridge::reinitialize() {
  session_id_.clear();
  protocol_version_.clear();
  BlockingResponse init = post(initialize_line_);
  if (init.status != 200 || session_id_.empty()) {
    log_ << "arkroute mcp: could not open a new session: "
         << (init.status ? "HTTP " + std::to_string(init.status) : init.error)
         << "; trying again with the next message\n";
    return false;
  }
  rememberVersion(nlohmann::json::parse(init.body, nullptr, false));
  post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  log_ << "arkroute mcp: the session had expired; opened a new one\n";
  return true;
}

void StdioBridge::forward(const std::string& line) {
  nlohmann::json message = nlohmann::json::parse(line, nullptr, false);
  nlohmann::json request_id = isRequest(message) ? message["id"] : nlohmann::json();
  bool initialize = isRequest(message) && message["method"] == "initialize";
  if (initialize) {
    initialize_line_ = line;
    session_id_.clear();
    protocol_version_.clear();
  }
  // No session (a new one could not be opened): open one first, else the message gets a 400.
  bool lost = !initialize && session_id_.empty() && !initialize_line_.empty();
  if (lost && !reinitialize()) {
    if (!request_id.is_null()) writeError(request_id, "The gateway has no MCP session for us");
    return;
  }
  BlockingResponse response = post(line);
  if (response.status == 404 && !initialize && !initialize_line_.empty() && reinitialize()) {
    response = post(line);
  }
  writeAnswer(response, request_id);
}

void StdioBridge::endSession() {
  if (session_id_.empty()) return;
  http::Headers headers;
  if (!options_.api_key.empty()) headers.set("Authorization", "Bearer " + options_.api_key);
  headers.set("Mcp-Session-Id", session_id_);
  if (!protocol_version_.empty()) headers.set("MCP-Protocol-Version", protocol_version_);
  BlockingResponse response = client_.send("DELETE", headers, "");
  if (response.status != 200) {
    log_ << "arkroute mcp: ending the session: "
         << (response.status ? "HTTP " + std::to_string(response.status) : response.error) << "\n";
  }
  session_id_.clear();
}

int StdioBridge::run(std::istream& in) {
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    forward(line);
  }
  endSession();
  return 0;
}

int runStdioBridge(const std::map<std::string, std::string>& flags) {
  BridgeOptions options;
  for (const auto& [flag, value] : flags) {
    if (flag == "url") {
      options.url = value;
    } else {
      std::cerr << "arkroute mcp: unknown flag --" << flag
                << " (usage: arkroute mcp [--url URL])\n";
      return 2;
    }
  }
  if (const char* key = std::getenv("ARKROUTE_API_KEY")) options.api_key = key;
  std::string error;
  std::optional<HttpTarget> target = parseHttpTarget(options.url, &error);
  if (!target) {
    std::cerr << "arkroute mcp: --url: " << error << "\n";
    return 2;
  }
  std::cerr << "arkroute mcp: bridging stdio to " << options.url << "\n";
  StdioBridge bridge(std::move(*target), std::move(options), std::cout, std::cerr);
  return bridge.run(std::cin);
}

}  // namespace arkroute::mcp
