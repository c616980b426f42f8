// What the log phase knows about one finished request, and the observers that consume it (the
// ledger, metrics, the access log). The pipeline fills a RequestRecord exactly once per request,
// whatever happened, and hands it to every observer in Services::observers on the worker's
// thread. Observers must be thread-safe (several workers call them) and must not block: anything
// slow (disk, fsync) goes to a background thread. The record's texts are views of the request's
// own strings, valid only during onRequestFinished: an observer copies what it keeps (a record
// costs no allocation per request).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace arkroute {

struct RequestRecord {
  int64_t time_ms = 0;  // wall clock when the request arrived (ms since the epoch)
  std::string_view request_id;
  std::string_view method;
  std::string_view path;
  std::string_view key_id;          // virtual key id ("" in open/passthrough mode)
  std::string_view key_name;        // virtual key name ("" when none)
  std::string_view model;           // the configured model that served it ("" before routing)
  std::string_view upstream;        // upstream name ("" when none was contacted)
  int status = 0;                   // HTTP status sent to the client (0: none sent, client left)
  std::string_view cache_status;    // HIT, MISS, BYPASS, COALESCED ("" when not a generation)
  std::string_view outcome;         // ok, client_error, upstream_error, internal_error, client_gone
  std::string_view error_code;      // OpenAI-style error code when the gateway answered an error
  std::optional<double> cost_usd;   // what this request cost (0 on hits; nullopt: unknown price)
  std::optional<double> saved_usd;  // on a hit/coalesced: what the original generation cost
  int images = 0;                   // images delivered
  std::string prompt_sha256;        // hex SHA-256 of the prompt ("" when none or access log off)
  std::string prompt;               // the prompt itself, only when log.prompts = true
  uint64_t bytes_in = 0;            // request body bytes
  uint64_t bytes_out = 0;           // response body bytes sent (best effort)
  double queue_ms = 0;              // waiting for admission (shaping) and coalescing
  double upstream_ms = 0;           // from upstream start to its completion or error
  double total_ms = 0;              // from the request's arrival to the log phase
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // Called once per finished request, on the worker thread that served it.
  virtual void onRequestFinished(const RequestRecord& record) = 0;
};

using RequestObservers = std::vector<std::shared_ptr<RequestObserver>>;

}  // namespace arkroute
