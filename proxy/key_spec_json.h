// Reading a key specification from JSON (the admin API's POST /admin/keys body, also what the CLI
// sends to a running gateway): {"name", "budget_usd" (number, or null for unlimited),
// "rpm", "images_per_min", "models": [..], "expires": "YYYY-MM-DD"}.
#pragma once

#include <string>
#include <variant>

#include "proxy/virtual_keys.h"

namespace arkroute {

// The spec, or a message naming the bad field.
std::variant<KeySpec, std::string> keySpecFromJson(std::string_view body);

// Milliseconds since the epoch of the start of the UTC day "YYYY-MM-DD"; -1 when invalid.
int64_t dayStartMs(std::string_view day);

}  // namespace arkroute
