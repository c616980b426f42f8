// OpenAI-style errors: {"error":{"message","type","param","code"}} with an HTTP status and the
// source of the failure (client, upstream, internal), so logs and metrics can tell them apart.
#pragma once

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

  std::string toJson() const;

  static ApiError invalidRequest(std::string message, std::optional<std::string> param = {},
                                 std::optional<std::string> code = {});
  static ApiError notFound(std::string message, std::optional<std::string> code = {});
  static ApiError methodNotAllowed(std::string_view method, std::string_view path);
  static ApiError modelNotFound(std::string_view model);
  static ApiError upstreamFailure(int status, std::string message, std::string code);
  static ApiError internal(std::string message);
};

// The error body the HTTP server uses for the failures it detects itself (400/408/413/431).
std::string serverErrorBody(int status, std::string_view message);

}  // namespace arkroute
