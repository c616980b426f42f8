// Builds OpenAI-style error bodies with nlohmann::json (strings are escaped by the library).
#include "proxy/api_error.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace arkroute {

std::string_view toString(ErrorSource source) {
  switch (source) {
    case ErrorSource::kClient:
      return "client";
    case ErrorSource::kUpstream:
      return "upstream";
    case ErrorSource::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string ApiError::toJson() const {
  nlohmann::json error = {{"message", message}, {"type", type}};
  error["param"] = param ? nlohmann::json(*param) : nlohmann::json(nullptr);
  error["code"] = code ? nlohmann::json(*code) : nlohmann::json(nullptr);
  return nlohmann::json{{"error", std::move(error)}}.dump(-1, ' ', false,
                                                          nlohmann::json::error_handler_t::replace);
}

ApiError ApiError::invalidValue(std::string message, std::string param) {
  return invalidRequest(std::move(message), std::move(param), std::string("invalid_value"));
}

ApiError ApiError::invalidRequest(std::string message, std::optional<std::string> param,
                                  std::optional<std::string> code) {
  return ApiError{400,
                  std::move(message),
                  "invalid_request_error",
                  std::move(param),
                  std::move(code),
                  ErrorSource::kClient};
}

ApiError ApiError::notFound(std::string message, std::optional<std::string> code) {
  return ApiError{404,          std::move(message), "invalid_request_error",
                  std::nullopt, std::move(code),    ErrorSource::kClient};
}

ApiError ApiError::methodNotAllowed(std::string_view method, std::string_view path) {
  return ApiError{405,
                  "Method " + std::string(method) + " is not allowed on " + std::string(path),
                  "invalid_request_error",
                  std::nullopt,
                  std::string("method_not_allowed"),
                  ErrorSource::kClient};
}

ApiError ApiError::modelNotFound(std::string_view model) {
  return ApiError{404,
                  "The model '" + std::string(model) +
                      "' does not exist or is not configured on this gateway (see GET /v1/models)",
                  "invalid_request_error",
                  std::string("model"),
                  std::string("model_not_found"),
                  ErrorSource::kClient};
}

ApiError ApiError::upstreamFailure(int status, std::string message, std::string code) {
  return ApiError{status,       std::move(message), "upstream_error",
                  std::nullopt, std::move(code),    ErrorSource::kUpstream};
}

ApiError ApiError::internal(std::string message) {
  return ApiError{500,          std::move(message), "server_error",
                  std::nullopt, std::nullopt,       ErrorSource::kInternal};
}

ApiError ApiError::cacheUnavailable(std::string message) {
  return ApiError{503,          std::move(message),  "server_error",
                  std::nullopt, "cache_unavailable", ErrorSource::kInternal};
}

ApiError ApiError::invalidApiKey(std::string message) {
  return ApiError{401,          std::move(message), "invalid_request_error",
                  std::nullopt, "invalid_api_key",  ErrorSource::kClient};
}

ApiError ApiError::modelNotAllowed(std::string_view model, std::string_view key_name) {
  return ApiError{
      403,
      "The key '" + std::string(key_name) + "' may not use the model '" + std::string(model) + "'",
      "invalid_request_error",
      std::string("model"),
      std::string("model_not_allowed"),
      ErrorSource::kClient};
}

ApiError ApiError::rateLimited(std::string message, int64_t retry_after_ms) {
  retry_after_ms = std::max<int64_t>(retry_after_ms, 1);
  // Said in the text too: a caller that sees only the message (an agent over MCP) gets the wait.
  message += " Try again in " + std::to_string((retry_after_ms + 999) / 1000) +
             " s (the retry-after header).";
  ApiError error{429,          std::move(message),    "requests",
                 std::nullopt, "rate_limit_exceeded", ErrorSource::kClient};
  error.retry_after_ms = retry_after_ms;
  return error;
}

ApiError ApiError::insufficientQuota(std::string message) {
  return ApiError{429,          std::move(message),   "insufficient_quota",
                  std::nullopt, "insufficient_quota", ErrorSource::kClient};
}

std::string_view serverErrorCode(int status) {
  switch (status) {
    case 400:
      return "malformed_request";
    case 408:
      return "request_timeout";
    case 413:
      return "request_too_large";
    case 431:
      return "request_header_fields_too_large";
    case 501:
      return "not_implemented";
    default:
      return "invalid_request";
  }
}

std::string serverErrorBody(int status, std::string_view message) {
  ApiError error = ApiError::invalidRequest(std::string(message));
  error.status = status;
  error.code = std::string(serverErrorCode(status));
  return error.toJson();
}

}  // namespace arkroute
