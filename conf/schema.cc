// The settings table and its Markdown rendering.
#include "conf/schema.h"

#include <algorithm>

namespace arkroute {

namespace {

using T = SettingType;

const std::vector<Setting> kSchema = {
    {"server", "listen", T::kString, "\"127.0.0.1:8080\"",
     "Address to listen on, IP:PORT (IPv6 as [::1]:PORT; port 0 picks a free port). An IP "
     "address, not a name: `localhost` is refused."},
    {"server", "workers", T::kInteger, "0",
     "Worker threads, each with its own event loop; 0 = one per CPU core."},
    {"server", "max_body_bytes", T::kByteSize, "\"50MiB\"",
     "Largest request body accepted; larger requests get 413. Image edits carry their input "
     "images in the body."},
    {"server", "max_header_bytes", T::kByteSize, "\"64KiB\"",
     "Largest request head (request line + headers); larger get 431."},
    {"server", "idle_timeout", T::kDuration, "\"60s\"",
     "Keep-alive connections with no request in progress are closed after this."},
    {"server", "request_timeout", T::kDuration, "\"30s\"",
     "A request (head and body) must arrive within this, else 408."},
    {"server", "write_timeout", T::kDuration, "\"120s\"",
     "A client that reads nothing of its response for this long is dropped."},
    {"server", "drain_timeout", T::kDuration, "\"30s\"",
     "On SIGTERM, how long in-flight requests may take to finish, including cache fills whose "
     "client already left. What is still running then is cancelled upstream and written to the "
     "ledger."},
    {"server", "public_url", T::kString, "(from listen)",
     "Base of the URLs the gateway hands out (cached image URLs). Unset: follows listen (and "
     "--listen), http://HOST:PORT with 0.0.0.0 and :: shown as loopback. Set it when clients "
     "reach the gateway at another address (a TLS proxy, a hostname), and with port 0 (the "
     "port is only chosen at start)."},
    {"auth", "mode", T::kString, "\"open\"",
     "open (anyone may call) | keys (virtual keys with budgets and limits: `arkroute keys "
     "create`) | passthrough (client's Authorization goes upstream)."},
    {"auth", "admin_token_env", T::kString, "\"ARKROUTE_ADMIN_TOKEN\"",
     "Environment variable holding the admin API token; unset = admin API disabled."},
    {"auth", "default_budget_usd", T::kNumber, "5.0",
     "Free credits (USD) of a key created without --budget-usd."},
    {"cache", "enabled", T::kBoolean, "true", "Serve identical generations from the cache."},
    {"cache", "path", T::kString, "\"./var/arkroute\"", "RocksDB directory for the cache."},
    {"cache", "ttl", T::kDuration, "\"30d\"", "How long a cached generation is served."},
    {"cache", "max_bytes", T::kByteSize, "\"20GiB\"",
     "Size cap; the oldest entries are evicted first. `check` and `serve` warn when it is more "
     "than the disk under path can hold."},
    {"cache", "memory_bytes", T::kByteSize, "0",
     "Recent entries kept in memory in front of the database (hits served without reading it); "
     "0 = a quarter of max_bytes, at most 256MiB. Entries written recently are held until "
     "written, whatever this says."},
    {"cache", "max_pending_bytes", T::kByteSize, "\"256MiB\"",
     "Memory for answers accepted but not yet written to disk. Past it, b64_json answers are "
     "served but not stored, and url answers wait (up to 10 s) for room, then get 503 "
     "cache_unavailable."},
    {"cache", "scope", T::kString, "\"shared\"",
     "shared (one cache for all callers) | per_key (each caller's own, told apart by its "
     "Authorization). Omitted with auth.mode = \"passthrough\": per_key."},
    {"log", "access_log", T::kString, "\"stdout\"",
     "Where the JSON access log goes: stdout (journald under systemd), off, or a file path."},
    {"log", "prompts", T::kBoolean, "false",
     "Log prompts in the access log; by default only their SHA-256 is logged."},
    {"mcp", "enabled", T::kBoolean, "true",
     "Serve the MCP endpoint (POST/DELETE /mcp) for AI agents; false answers 404."},
    {"mcp", "allowed_origins", T::kStringList, "[]",
     "Browser Origins allowed to call /mcp besides the gateway's own (public_url, listen "
     "address); others get 403. \"*\" allows any."},
    {"mcp", "default_model", T::kString, "\"\"",
     "Model generate_image uses when the agent names none; empty = the first [[model]]."},
    {"mcp", "session_ttl", T::kDuration, "\"1h\"",
     "An MCP session unused for this long expires (the client then gets 404 and re-initializes)."},
    {"mcp", "max_sessions", T::kInteger, "10000",
     "Open MCP sessions kept. One credential holds at most 32 (opening another ends its own "
     "least recently used); a full table refuses initialize with 503."},
    {"upstream", "name", T::kString, "(required)", "Name models refer to."},
    {"upstream", "base_url", T::kString, "(required)",
     "Provider base URL, http:// or https://, e.g. https://api.openai.com/v1."},
    {"upstream", "api", T::kString, "\"openai\"",
     "The provider's protocol: \"openai\" (the OpenAI Images API: OpenAI, Google's compatible "
     "endpoint, any compatible host), \"seedream\" (ByteDance Seedream: generations as "
     "\"openai\"; images.edit is sent as a generation with the uploaded images as data URIs in "
     "`image`, since Seedream has no edits endpoint), or \"kling\" (Kling's asynchronous tasks: "
     "base_url https://api-singapore.klingai.com, key ACCESS_KEY:SECRET_KEY)."},
    {"upstream", "poll_interval", T::kDuration, "\"2s\"",
     "api = \"kling\": how often a submitted task is polled until its images are ready."},
    {"upstream", "api_key_env", T::kString, "\"\"",
     "Environment variable holding the provider key (must be set when named). Whitespace "
     "around the key is dropped; a key with a space, line break or non-ASCII character inside "
     "is refused."},
    {"upstream", "api_key_file", T::kString, "\"\"",
     "File holding the provider key: an absolute path, or a credential name read from "
     "$CREDENTIALS_DIRECTORY (systemd LoadCredential=). Not with api_key_env. The same rules "
     "as api_key_env apply to its text."},
    {"upstream", "ca_file", T::kString, "\"\"",
     "PEM file of CAs to verify the provider with; empty = system CA store."},
    {"upstream", "tls_verify", T::kBoolean, "true",
     "Verify the provider's certificate chain and hostname. Only disable for local tests."},
    {"upstream", "max_connections", T::kInteger, "64",
     "Keep-alive connections per worker thread; more requests wait."},
    {"upstream", "connect_timeout", T::kDuration, "\"10s\"", "DNS + TCP + TLS handshake."},
    {"upstream", "first_byte_timeout", T::kDuration, "\"600s\"",
     "Request sent until the response head arrives."},
    {"upstream", "timeout", T::kDuration, "\"600s\"",
     "Whole exchange; high-quality generations take minutes."},
    {"upstream", "idle_timeout", T::kDuration, "\"60s\"",
     "Idle pooled connections are closed after this."},
    {"upstream", "max_concurrency", T::kInteger, "0",
     "Requests in flight to this provider at once (all workers); more wait in a queue. 0 = no "
     "limit."},
    {"upstream", "rpm", T::kInteger, "0",
     "Requests started in any 60 s (a sliding window); more wait in the queue. 0 = no limit."},
    {"upstream", "max_queue", T::kInteger, "256",
     "Requests that may wait for this provider; beyond, 429 with retry-after."},
    {"upstream", "queue_timeout", T::kDuration, "\"60s\"",
     "Longest wait in the queue; then 429 with retry-after."},
    {"upstream", "max_retries", T::kInteger, "2",
     "Retries on connect errors, a close before the answer, 429 and 5xx, only before any byte "
     "reached the client."},
    {"upstream", "retry_base", T::kDuration, "\"500ms\"",
     "First retry backoff; doubles each time, with jitter; retry-after is honoured."},
    {"upstream", "retry_max_wait", T::kDuration, "\"20s\"",
     "Longest single backoff (a longer retry-after is not waited for: the next fallback is "
     "tried)."},
    {"upstream", "weight", T::kInteger, "1",
     "Share of traffic when several upstreams serve one model (least-loaded relative to weight)."},
    {"upstream", "eject_after", T::kInteger, "5",
     "Consecutive failures before the upstream is ejected for eject_for; 0 = never."},
    {"upstream", "eject_for", T::kDuration, "\"30s\"",
     "Ejection cooldown; afterwards one probe request decides whether it is back."},
    {"model", "name", T::kString, "(required)", "The model name clients send."},
    {"model", "upstream", T::kString, "(required)", "Which [[upstream]] serves it."},
    {"model", "upstreams", T::kStringList, "[]",
     "More [[upstream]]s serving the same model (with `upstream`): least-loaded by weight wins."},
    {"model", "upstream_model", T::kString, "= name", "Model name sent to the provider (rename)."},
    {"model", "fallbacks", T::kStringList, "[]",
     "Other models to try, in order, when this one fails."},
    {"model", "cache", T::kBoolean, "true", "false: never cache this model."},
    {"model", "default_response_format", T::kString, "\"b64_json\"",
     "What the provider answers with when a request names no response_format: \"b64_json\" "
     "(OpenAI's gpt-image models) or \"url\" (Seedream, DALL-E). With \"url\", such requests "
     "are served as response_format \"url\": cached, answered with the gateway's URLs."},
    {"model", "price", T::kTable, "(none)",
     "Price table, see [model.price]; without one, cost is reported as unknown."},
    {"model.price", "per_image", T::kTable, "{}",
     "USD per image by quality then size: { high = { \"1024x1024\" = 0.084, \"*\" = 0.167 } }; "
     "\"*\" is the default."},
    {"model.price", "text_input_per_million", T::kNumber, "(none)",
     "USD per million text input tokens; with the token rates, cost comes from usage."},
    {"model.price", "image_input_per_million", T::kNumber, "(none)",
     "USD per million image input tokens."},
    {"model.price", "image_output_per_million", T::kNumber, "(none)",
     "USD per million image output tokens."},
};

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

const std::vector<Setting>& configSchema() {
  return kSchema;
}

const Setting* findSetting(std::string_view section, std::string_view key) {
  for (const Setting& s : kSchema) {
    if (s.section == section && s.key == key) return &s;
  }
  return nullptr;
}

std::string_view toString(SettingType type) {
  switch (type) {
    case T::kString:
      return "string";
    case T::kNumber:
      return "number";
    case T::kInteger:
      return "integer";
    case T::kBoolean:
      return "boolean";
    case T::kDuration:
      return "duration";
    case T::kByteSize:
      return "size";
    case T::kStringList:
      return "list of strings";
    case T::kTable:
      return "table";
  }
  return "?";
}

std::string suggestKey(std::string_view section, std::string_view key) {
  std::string best;
  size_t best_distance = 3;
  for (const Setting& s : kSchema) {
    if (s.section != section) continue;
    size_t d = editDistance(key, s.key);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(s.key);
    }
  }
  return best;
}

std::string renderConfigReference() {
  std::string out =
      "# Configuration reference\n\nGenerated from `conf/schema.cc` (the one table every setting "
      "lives in; `arkroute check --config FILE` validates against it). Durations: `250ms`, `600s`, "
      "`5m`, `2h`, `30d` (a bare integer is seconds). Sizes: `512KiB`, `20GiB`, `10MB` (a bare "
      "integer is bytes).\n";
  std::string_view section;
  for (const Setting& s : kSchema) {
    if (s.section != section) {
      section = s.section;
      bool array = section == "upstream" || section == "model";
      out += "\n## " + std::string(array ? "[[" : "[") + std::string(section) +
             (array ? "]]" : "]") + "\n\n| key | type | default | meaning |\n|---|---|---|---|\n";
    }
    out += "| `" + std::string(s.key) + "` | " + std::string(toString(s.type)) + " | `" +
           std::string(s.default_text) + "` | " + std::string(s.doc) + " |\n";
  }
  return out;
}

}  // namespace arkroute
