// JSON-RPC 2.0 as MCP uses it: parsing one message from a request body and classifying it
// (request, notification, or a response the client sends back), and building result and error
// objects. Batches (JSON arrays) are not accepted: every MCP version this gateway speaks after
// 2025-03-26 removed them, and Streamable HTTP carries one message per POST.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace arkroute::mcp {

namespace rpc {
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kServerError = -32000;  // transport-level rejections (bad session, headers, ...)
}  // namespace rpc

enum class MessageKind { kRequest, kNotification, kResponse };

struct JsonRpcMessage {
  MessageKind kind = MessageKind::kRequest;
  nlohmann::json id;      // string or integer for requests and responses; null for notifications
  std::string method;     // empty for responses
  nlohmann::json params;  // object (or null when absent)
};

struct JsonRpcError {
  int code = rpc::kInvalidRequest;
  std::string message;
  nlohmann::json id;  // the offending message's id when it could be read, else null
};

// Exactly one of message / error is set.
struct ParsedMessage {
  std::optional<JsonRpcMessage> message;
  std::optional<JsonRpcError> error;
};

// Parses and validates one JSON-RPC 2.0 message: -32700 when the body is not JSON, -32600 when it
// is JSON but not a valid single message (batch, wrong "jsonrpc", bad id, non-object params...).
ParsedMessage parseMessage(std::string_view body);

// {"jsonrpc":"2.0","id":id,"result":result}
nlohmann::json makeResult(const nlohmann::json& id, nlohmann::json result);
// {"jsonrpc":"2.0","id":id,"error":{"code","message"[,"data"]}}
nlohmann::json makeError(const nlohmann::json& id, int code, std::string_view message,
                         nlohmann::json data = nullptr);

}  // namespace arkroute::mcp
