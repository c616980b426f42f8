// The static part of the MCP tools: names, descriptions, input and output JSON Schemas, as
// tools/list returns them. Descriptions are written for an agent deciding what to call.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace arkroute::mcp {

// The tools/list "tools" array; default_model is named in generate_image's description.
nlohmann::json toolCatalog(const std::string& default_model);

}  // namespace arkroute::mcp
