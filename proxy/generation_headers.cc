// Header filtering tables and upstream failure mapping (502 with the reason, 504 on timeouts).
#include "proxy/generation_headers.h"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "proxy/secret_mask.h"

namespace arkroute {

namespace {

// A fixed set of field names, looked up case-insensitively. Most names a message carries are not
// in it, and their length alone rules them out before any text is compared.
template <size_t N>
class NameSet {
 public:
  constexpr explicit NameSet(const std::array<std::string_view, N>& names) : names_(names) {
    for (std::string_view name : names) {
      if (name.size() >= 64) throw std::logic_error("a NameSet name is under 64 characters");
      lengths_ |= uint64_t{1} << name.size();  // a compile error for a longer name (constexpr)
    }
  }
  bool contains(std::string_view name) const {
    if (name.size() >= 64 || ((lengths_ >> name.size()) & 1) == 0) return false;
    for (std::string_view entry : names_) {
      if (http::equalsIgnoreCase(entry, name)) return true;
    }
    return false;
  }

 private:
  std::array<std::string_view, N> names_;
  uint64_t lengths_ = 0;
};

constexpr NameSet<16> kRequestHeadersNotForwarded(std::array<std::string_view, 16>{
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
    "host", "content-length", "authorization", "proxy-authorization", "cookie", "accept-encoding",
    "expect", "cache-control", "x-arkroute-cache-ttl"});

// The gateway writes x-request-id and its own X-ArkRoute-{Model,Cache,Cost-USD} (an upstream that
// is itself an ArkRoute sends them too): dropped here so the caller adds them without a search.
// What a provider says about its own site would apply to the gateway's: its cookies, its HSTS
// (includeSubDomains reaching the gateway's domain), its other protocols (alt-svc).
constexpr NameSet<15> kResponseHeadersNotForwarded(std::array<std::string_view, 15>{
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
    "content-length", "x-request-id", "upgrade", "x-arkroute-model", "x-arkroute-cache",
    "x-arkroute-cost-usd", "set-cookie", "alt-svc", "strict-transport-security"});

// Whether the message's Connection field lists name (RFC 9110 7.6.1: the fields it names are for
// this hop alone, and a proxy removes them). Usually it lists none: it is absent, or "keep-alive".
bool namedByConnection(std::string_view connection, std::string_view name) {
  while (!connection.empty()) {
    size_t comma = connection.find(',');
    std::string_view token = http::trimOws(connection.substr(0, comma));
    if (http::equalsIgnoreCase(token, name)) return true;
    if (comma == std::string_view::npos) break;
    connection.remove_prefix(comma + 1);
  }
  return false;
}

// Whether any of in's Connection lines (a message may have several) names name.
bool namedByAnyConnection(const http::Headers& in, std::string_view name) {
  for (const auto& [field, value] : in) {
    if (http::equalsIgnoreCase(field, "connection") && namedByConnection(value, name)) return true;
  }
  return false;
}

// Adds the field with every occurrence of secret (when not empty) in its value masked.
void addMasked(std::string_view name, std::string_view value, std::string_view secret,
               http::Headers* out) {
  if (secret.empty() || value.find(secret) == std::string_view::npos) {
    out->add(name, value);
    return;
  }
  std::string masked(value);
  maskSecret(secret, &masked);
  out->add(name, masked);
}

// Copies in's fields but those in the set and those one of in's Connection lines names, with
// secret masked in their values.
template <size_t N>
void copyEndToEnd(const http::Headers& in, const NameSet<N>& hop_by_hop, http::Headers* out,
                  std::string_view secret = {}) {
  bool names_fields = false;  // the usual: no Connection, or one that says keep-alive or close
  for (const auto& [name, value] : in) {
    if (http::equalsIgnoreCase(name, "connection") &&
        !http::equalsIgnoreCase(value, "keep-alive") && !http::equalsIgnoreCase(value, "close")) {
      names_fields = true;
    }
  }
  for (const auto& [name, value] : in) {
    if (hop_by_hop.contains(name)) continue;
    if (names_fields && namedByAnyConnection(in, name)) continue;
    addMasked(name, value, secret, out);
  }
}

}  // namespace

// Names here are tokens already: the server refuses a request with any other (400), and the
// upstream response parser trims or drops them.
void copyForwardableHeaders(const http::Headers& in, http::Headers* out) {
  copyEndToEnd(in, kRequestHeadersNotForwarded, out);
}

void copyReturnableHeaders(const http::Headers& in, http::Headers* out, std::string_view secret) {
  copyEndToEnd(in, kResponseHeadersNotForwarded, out, secret);
  if (auto upstream_id = in.find("x-request-id")) {
    out->remove("x-upstream-request-id");
    addMasked("x-upstream-request-id", *upstream_id, secret, out);
  }
}

std::string providerErrorCode(std::string_view body) {
  auto value = nlohmann::json::parse(body, nullptr, false);
  if (!value.is_object()) return {};
  auto text = [](const nlohmann::json& object, const char* name) -> std::string {
    auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto error = value.find("error"); error != value.end() && error->is_object()) {
    std::string code = text(*error, "code");
    return code.empty() ? text(*error, "type") : code;
  }
  return text(value, "code");
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
