// Builds the client response for a stored generation.
#include "proxy/cached_reply.h"

#include <event2/buffer.h>

#include <algorithm>

#include "proxy/image_response.h"
#include "proxy/pricing.h"

namespace arkroute {

bool sendCachedReply(http::Exchange& exchange,
                     const std::shared_ptr<const cache::CacheEntry>& entry_ref,
                     const CachedReplyOptions& options) {
  const cache::CacheEntry& entry = *entry_ref;
  std::optional<std::string> transformed;
  std::shared_ptr<const std::string> url_answer;
  if (options.stream) {
    transformed = toSseReplay(entry.body, options.events);
  } else if (options.url_format) {
    if (!options.url_answers) return false;
    url_answer = options.url_answers->get(entry_ref, options.public_url, options.entry_id);
    if (!url_answer) return false;
  }
  if (options.stream && !transformed) return false;
  http::Headers headers;  // distinct names: added without searching
  headers.add("Content-Type", options.stream ? "text/event-stream" : "application/json");
  if (options.stream) headers.add("Cache-Control", "no-cache");
  headers.add("x-request-id", std::string(options.request_id));
  headers.add("X-ArkRoute-Cache", std::string(options.cache_status));
  headers.add("X-ArkRoute-Model", std::string(options.model_name));
  headers.add("X-ArkRoute-Cost-USD", formatUsd(0.0));
  std::optional<double> saved;
  if (entry.cost_usd >= 0) saved = entry.cost_usd;  // a negative cost means "unknown"
  headers.add("X-ArkRoute-Saved-USD", formatUsd(saved));
  int64_t age_seconds = std::max<int64_t>(0, (options.now_ms - entry.created_ms) / 1000);
  headers.add("Age", std::to_string(age_seconds));
  if (options.extra) {
    for (const auto& [name, value] : *options.extra) headers.set(name, value);
  }
  if (transformed) {
    exchange.respond(200, headers, *transformed);
  } else if (url_answer) {
    exchange.respondShared(200, headers, *url_answer, url_answer);
  } else {
    exchange.respondShared(200, headers, entry.body, entry_ref);  // stored bytes, never copied
  }
  return true;
}

}  // namespace arkroute
