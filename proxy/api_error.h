// OpenAI-style errors: {"error":{"message","type","param","code"}} with an HTTP status and the
// source of the failure (client, upstream, internal), so logs and metrics can tell them apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace arkroute {

enum class ErrorSource { kClient, kUpstream, kInternal };
std::string_view toString(ErrorSource source);

struct ApiError {
  int status = 500;
  std::string message;
  std::string type = "invalid_request_error";
  std::optional<std::string> param;
  std::optional<std::string> code;
  ErrorSource source = ErrorSource::kClient;
  int64_t retry_after_ms = 0;  // > 0: sent as a retry-after header (seconds, rounded up)
  // No retry can succeed (an account out of credit): sent with `x-should-retry: false`, which the
  // OpenAI SDKs obey, and never retried by the gateway either.
  bool no_retry = false;

  std::string toJson() const;

  static ApiError invalidRequest(std::string message, std::optional<std::string> param = {},
                                 std::optional<std::string> code = {});
  // A 400 for a field whose value the gateway or the provider cannot take (code invalid_value).
  static ApiError invalidValue(std::string message, std::string param);
  static ApiError notFound(std::string message, std::optional<std::string> code = {});
  static ApiError methodNotAllowed(std::string_view method, std::string_view path);
  static ApiError modelNotFound(std::string_view model);
  static ApiError upstreamFailure(int status, std::string message, std::string code);
  static ApiError internal(std::string message);
  // 503 cache_unavailable: a url answer the cache cannot store (a server_error, internal).
  static ApiError cacheUnavailable(std::string message);
  // 401 invalid_api_key (auth.mode = "keys").
  static ApiError invalidApiKey(std::string message);
  // 403 model_not_allowed: the key may not use this model.
  static ApiError modelNotAllowed(std::string_view model, std::string_view key_name);
  // 429 rate_limit_exceeded with retry-after.
  static ApiError rateLimited(std::string message, int64_t retry_after_ms);
  // 429 insufficient_quota: a key's budget cannot cover the request (a retry may, once requests
  // in flight settle for less than their reservation), or a provider account is spent.
  static ApiError insufficientQuota(std::string message);
};

// The error body the HTTP server uses for the failures it detects itself (400/408/413/431/501),
// and its code ("malformed_request", "request_timeout", ...).
std::string serverErrorBody(int status, std::string_view message);
std::string_view serverErrorCode(int status);

}  // namespace arkroute
