// Transforms of an OpenAI Images JSON response ({"created","data":[{"b64_json"}...],"usage",...},
// or Seedream's, whose usage counts generated_images), the form in which the cache stores
// generations: the cacheability test, SSE replay for
// stream requests, gateway-issued URLs for response_format "url", image extraction for
// GET /v1/images/cache/<id>, and image type detection from the bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/image_events.h"

namespace arkroute {

// True for a complete JSON object whose "data" is a non-empty array of objects that each carry a
// non-empty "b64_json" string (what the cache can serve in every format).
bool isCacheableImagesJson(std::string_view body);

// Number of images in a cacheable body (0 when not cacheable). Parsed in place when the string's
// capacity leaves kJsonPadding bytes past its end; otherwise the parser copies it first.
size_t imageCount(const std::string& body);
constexpr size_t kJsonPadding = 64;

// The stored JSON as an SSE stream, in the dialect of the provider that made it. OpenAI's: one
// completed event per image (`image_generation.completed`, or `image_edit.completed` for an
// edit), with the response's size/quality/background/output_format and usage. Seedream's (told by
// usage.generated_images): one `partial_succeeded` event per image (image_index, size), a
// completed event with the usage, then `data: [DONE]`. nullopt when body is not cacheable.
std::optional<std::string> toSseReplay(std::string_view body,
                                       ImageEvents events = ImageEvents::kGeneration);

// The stored JSON with each data[i].b64_json replaced by {"url": "<public_url>/v1/images/cache/
// <id>-<i>"} (other fields kept). nullopt when body is not cacheable.
std::optional<std::string> toUrlResponse(std::string_view body, std::string_view public_url,
                                         std::string_view id);

// The decoded bytes of data[index].b64_json; nullopt when absent or not valid base64.
std::optional<std::string> imageBytes(std::string_view body, size_t index);

// "image/png", "image/jpeg", "image/webp", "image/gif" from magic bytes, else
// "application/octet-stream".
std::string_view detectImageType(std::string_view bytes);

// Standard base64 with padding, no line breaks (OpenSSL).
std::string encodeBase64(std::string_view bytes);

// Standard base64 decoding (OpenSSL); nullopt when malformed.
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace arkroute
