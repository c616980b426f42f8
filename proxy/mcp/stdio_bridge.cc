// The stdio ↔ Streamable HTTP bridge loop.
#include "proxy/mcp/stdio_bridge.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string_view>

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

void StdioBridge::writeAnswer(const BlockingResponse& response, const nlohmann::json& request_id,
                              bool expects_answer) {
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
    if (!expects_answer) {  // JSON-RPC: a notification (or a response) is never answered
      log_ << "arkroute mcp: the gateway refused a notification: " << response.body.substr(0, 300)
           << "\n";
      return;
    }
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
  writeError(request_id, "The gateway answered " + describeFailure(response));
}

// "HTTP 401: Missing API key ..." (the message of a JSON error body, when there is one), or why
// the gateway could not be reached.
std::string StdioBridge::describeFailure(const BlockingResponse& response) const {
  if (response.status == 0) {
    return "nothing: cannot reach it at " + options_.url + ": " + response.error;
  }
  std::string text = "HTTP " + std::to_string(response.status);
  nlohmann::json answer = nlohmann::json::parse(response.body, nullptr, false);
  const nlohmann::json* error =
      answer.is_object() && answer.contains("error") ? &answer["error"] : nullptr;
  if (error && error->is_object() && error->contains("message") &&
      (*error)["message"].is_string()) {
    text += ": " + (*error)["message"].get<std::string>();
  }
  return text;
}

bool StdioBridge::reinitialize() {
  session_id_.clear();
  protocol_version_.clear();
  BlockingResponse init = post(initialize_line_);
  if (init.status != 200 || session_id_.empty()) {
    open_failure_ = describeFailure(init);
    log_ << "arkroute mcp: could not open a new session: " << open_failure_
         << "; trying again with the next message\n";
    return false;
  }
  open_failure_.clear();
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
  auto no_session = [&] {
    if (request_id.is_null()) return;
    writeError(request_id,
               "The gateway has no MCP session for us: opening one got " + open_failure_);
  };
  if (lost && !reinitialize()) return no_session();
  BlockingResponse response = post(line);
  if (response.status == 404 && !initialize && !initialize_line_.empty()) {
    if (!reinitialize()) return no_session();
    response = post(line);
  }
  // A message that is not JSON gets the gateway's parse error; an object without an id is a
  // notification (or the client's response to a request), which nothing answers.
  bool expects_answer = !message.is_object() || message.contains("id");
  writeAnswer(response, request_id, expects_answer);
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
  if (const char* key = std::getenv("ARKROUTE_API_KEY")) {
    std::string_view text = key;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
      text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
      text.remove_suffix(1);
    }
    // A line break inside would end the Authorization header and start one of its own.
    if (std::any_of(text.begin(), text.end(),
                    [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      std::cerr << "arkroute mcp: ARKROUTE_API_KEY has a control character (a line break?) inside "
                   "it; a key is one line of text\n";
      return 2;
    }
    options.api_key = std::string(text);
  }
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
