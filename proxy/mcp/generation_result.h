// Turns the pipeline's answer to an images.generate request (GenerationOutcome: status, the
// X-ArkRoute-* headers and the OpenAI JSON body) into an MCP tools/call result: image blocks
// with sniffed MIME types, a text summary (model, cost, cache status, savings) and the same facts
// as structuredContent; or an isError result with the provider's or gateway's message.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "proxy/mcp/mcp_backend.h"

namespace arkroute::mcp {

nlohmann::json generationResult(const GenerationOutcome& outcome, const std::string& model);

}  // namespace arkroute::mcp
