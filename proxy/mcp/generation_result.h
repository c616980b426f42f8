// Turns the pipeline's answer to an images.generate or images.edit request (GenerationOutcome:
// status, the X-ArkRoute-* headers, the OpenAI JSON body and where the cache serves the images)
// into an MCP tools/call result: image blocks with sniffed MIME types, a text summary (model,
// cost, cache status, savings, the images' gateway URLs for edit_image) and the same facts as
// structuredContent; or an isError result with the provider's or gateway's message.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "proxy/mcp/mcp_backend.h"

namespace arkroute::mcp {

enum class ImageAction { kGeneration, kEdit };  // what the tool call asked for

nlohmann::json generationResult(const GenerationOutcome& outcome, const std::string& model,
                                ImageAction action = ImageAction::kGeneration);

}  // namespace arkroute::mcp
