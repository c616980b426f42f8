// Byte-level edits of a JSON request body: replaces (or adds) one top-level field's value and
// leaves every other byte as the client sent it, so fields the gateway does not know are
// forwarded untouched. Positions come from simdjson's On-Demand parser.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace arkroute {

// Returns body with the top-level `key` set to the JSON string `value` (added right after the
// opening brace when absent), or nullopt when body is not a JSON object.
std::optional<std::string> setTopLevelString(std::string_view body, std::string_view key,
                                             std::string_view value);

}  // namespace arkroute
