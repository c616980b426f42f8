// The MCP tools the gateway offers (generate_image, list_models, estimate_cost, get_usage): their
// names, descriptions and JSON Schemas for tools/list, and tools/call dispatch onto a McpBackend.
// A tool that runs but fails (bad arguments, budget, rate limit, upstream error, moderation)
// answers a result with isError: true and a message an agent can act on; only an unknown tool
// name is a protocol error (-32602).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "proxy/mcp/mcp_backend.h"

namespace arkroute::mcp {

struct ToolOutcome {
  nlohmann::json result;  // the tools/call result when error_code == 0
  int error_code = 0;     // a JSON-RPC error code (-32602 unknown tool / bad params)
  std::string error_message;
};

class McpTools {
 public:
  // default_model: used by generate_image when the caller names none; "" = the first model
  // listModels() returns for the caller.
  McpTools(McpBackend& backend, std::string default_model);

  // The tools/list "tools" array, naming the default model for the caller whose Authorization
  // value is `authorization`.
  nlohmann::json list(const std::string& authorization) const;
  // Runs a tool for the caller whose Authorization value is `authorization`. `done` is called
  // exactly once, possibly later (generate_image waits for the pipeline), on the calling thread.
  void call(const std::string& name, const nlohmann::json& arguments,
            const std::string& authorization, std::function<void(ToolOutcome)> done);

 private:
  std::string modelFor(const nlohmann::json& arguments, const std::string& authorization) const;
  void editImage(const nlohmann::json& arguments, const std::string& authorization,
                 std::function<void(ToolOutcome)> done);
  void generateImage(const nlohmann::json& arguments, const std::string& authorization,
                     std::function<void(ToolOutcome)> done);
  ToolOutcome listModels(const std::string& authorization) const;
  ToolOutcome estimateCost(const nlohmann::json& arguments) const;
  ToolOutcome usage(const std::string& authorization) const;
  std::string defaultModel(const std::string& authorization) const;

  McpBackend& backend_;
  std::string default_model_;
};

// {"content":[{"type":"text","text":message}],"isError":true}
nlohmann::json toolError(const std::string& message);

}  // namespace arkroute::mcp
