// The input images of an MCP edit_image call, read into bytes: images the gateway's cache holds
// (named by their URL or id, as generate_image and edit_image report them), data: URLs and bare
// base64. Never fetches anything from the network.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "cache/cache_store.h"

namespace arkroute {

// Each image's bytes, in order, or the message saying which one could not be read and why. store
// may be null (cache off). May wait on the disk: call it off the event loop.
std::variant<std::vector<std::string>, std::string> readEditInputs(
    cache::CacheStore* store, const std::vector<std::string>& images, int64_t now_ms);

}  // namespace arkroute
