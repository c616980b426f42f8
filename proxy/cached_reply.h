// The respond phase for cache hits and coalesced waits: sends a stored generation in the form the
// client asked for — the original JSON bytes, an SSE replay for `stream: true`, or gateway URLs
// for `response_format: "url"` — with X-ArkRoute-Cache, Age, cost (0) and saved headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cache/cache_store.h"
#include "proxy/http/server.h"
#include "proxy/image_events.h"
#include "proxy/url_answers.h"

namespace arkroute {

struct CachedReplyOptions {
  std::string_view request_id;
  std::string_view model_name;
  std::string_view cache_status;  // "HIT" or "COALESCED"
  bool stream = false;
  bool url_format = false;
  std::string_view public_url;
  std::string_view entry_id;  // the entry's versioned id (cachedEntryId), used in image URLs
  int64_t now_ms = 0;
  const http::Headers* extra = nullptr;  // e.g. x-ratelimit-* headers; may be null
  UrlAnswers* url_answers = nullptr;     // the worker's memo of url answers: needed for url_format
  ImageEvents events = ImageEvents::kGeneration;  // a stream replay's: an edit's for an edit
};

// Returns false (sending nothing) when the entry cannot be turned into the requested form.
bool sendCachedReply(http::Exchange& exchange,
                     const std::shared_ptr<const cache::CacheEntry>& entry,
                     const CachedReplyOptions& options);

}  // namespace arkroute
