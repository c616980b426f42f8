// Image MIME type detection from the bytes' magic numbers. Providers may return a different format
// than asked (Google's compatibility layer does), so MCP image blocks never trust the request.
#pragma once

#include <string>
#include <string_view>

namespace arkroute::mcp {

// "image/png", "image/jpeg", "image/webp" or "image/gif"; "" when the bytes are none of them.
std::string_view detectImageMime(std::string_view bytes);
// Same, for base64 text (standard alphabet, padding optional): only the first bytes are decoded.
std::string_view detectImageMimeBase64(std::string_view base64);
// Whether text is base64 as images come in it: the standard alphabet, '=' only as the padding at
// the end (padding optional), a length base64 can have (MCP clients refuse an image that is not).
bool isBase64(std::string_view text);
// Decodes a base64 prefix: at most max_bytes bytes; stops at the first non-alphabet character.
std::string decodeBase64Prefix(std::string_view base64, size_t max_bytes);

}  // namespace arkroute::mcp
