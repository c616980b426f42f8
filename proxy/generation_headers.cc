// Header filtering tables and upstream failure mapping (502 with the reason, 504 on timeouts).
#include "proxy/generation_headers.h"

#include <array>
#include <string_view>

namespace arkroute {

namespace {

constexpr std::array<std::string_view, 15> kRequestHeadersNotForwarded = {"connection",
                                                                          "keep-alive",
                                                                          "proxy-connection",
                                                                          "transfer-encoding",
                                                                          "te",
                                                                          "trailer",
                                                                          "upgrade",
                                                                          "host",
                                                                          "content-length",
                                                                          "authorization",
                                                                          "cookie",
                                                                          "accept-encoding",
                                                                          "expect",
                                                                          "cache-control",
                                                                          "x-arkroute-cache-ttl"};

// The gateway writes x-request-id and its own X-ArkRoute-{Model,Cache,Cost-USD} (an upstream that
// is itself an ArkRoute sends them too): dropped here so the caller adds them without a search.
// What a provider says about its own site would apply to the gateway's: its cookies, its HSTS
// (includeSubDomains reaching the gateway's domain), its other protocols (alt-svc).
constexpr std::array<std::string_view, 15> kResponseHeadersNotForwarded = {
    "connection", "keep-alive",       "proxy-connection",         "transfer-encoding",
    "te",         "trailer",          "content-length",           "x-request-id",
    "upgrade",    "x-arkroute-model", "x-arkroute-cache",         "x-arkroute-cost-usd",
    "set-cookie", "alt-svc",          "strict-transport-security"};

template <size_t N>
bool listed(const std::array<std::string_view, N>& list, std::string_view name) {
  for (std::string_view entry : list) {
    if (http::equalsIgnoreCase(entry, name)) return true;
  }
  return false;
}

}  // namespace

// Names here are tokens already: the server refuses a request with any other (400), and the
// upstream response parser trims or drops them.
void copyForwardableHeaders(const http::Headers& in, http::Headers* out) {
  for (const auto& [name, value] : in) {
    if (!listed(kRequestHeadersNotForwarded, name)) out->add(name, value);
  }
}

void copyReturnableHeaders(const http::Headers& in, http::Headers* out) {
  for (const auto& [name, value] : in) {
    if (!listed(kResponseHeadersNotForwarded, name)) out->add(name, value);
  }
  if (auto upstream_id = in.find("x-request-id")) {
    out->set("x-upstream-request-id", *upstream_id);
  }
}

ApiError upstreamFailureError(const http::UpstreamError& error, std::string_view upstream) {
  std::string prefix = "Upstream '" + std::string(upstream) + "' ";
  switch (error.kind) {
    case http::UpstreamError::Kind::kTimeout:
      return ApiError::upstreamFailure(504, prefix + "timed out: " + error.message,
                                       "upstream_timeout");
    case http::UpstreamError::Kind::kTls:
      // The message says which: "TLS certificate verify failed: ..." or "TLS handshake ...".
      return ApiError::upstreamFailure(502, prefix + "failed: " + error.message,
                                       "upstream_tls_error");
    case http::UpstreamError::Kind::kDns:
      return ApiError::upstreamFailure(502, prefix + "could not be resolved: " + error.message,
                                       "upstream_dns_error");
    default:
      return ApiError::upstreamFailure(502, prefix + "failed: " + error.message,
                                       "upstream_unavailable");
  }
}

}  // namespace arkroute
