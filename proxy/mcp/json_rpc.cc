// JSON-RPC 2.0 message validation and result/error construction (nlohmann::json).
#include "proxy/mcp/json_rpc.h"

#include "proxy/json_text.h"

namespace arkroute::mcp {

namespace {

// More than any tool's arguments need; far less than what would exhaust a stack.
constexpr size_t kMaxDepth = 64;

bool validId(const nlohmann::json& id) {
  return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

ParsedMessage fail(int code, std::string message, nlohmann::json id = nullptr) {
  return ParsedMessage{std::nullopt, JsonRpcError{code, std::move(message), std::move(id)}};
}

ParsedMessage classifyResponse(const nlohmann::json& object) {
  const bool has_result = object.contains("result");
  const bool has_error = object.contains("error");
  if (!object.contains("id")) {
    return fail(rpc::kInvalidRequest, "Invalid Request: a message needs a \"method\" or an \"id\"");
  }
  const nlohmann::json& id = object["id"];
  if (has_result == has_error) {
    return fail(rpc::kInvalidRequest,
                "Invalid Request: a response carries exactly one of \"result\" and \"error\"",
                validId(id) ? id : nlohmann::json());
  }
  if (has_error && !object["error"].is_object()) {
    return fail(rpc::kInvalidRequest, "Invalid Request: \"error\" must be an object");
  }
  if (!validId(id) && !(has_error && id.is_null())) {
    return fail(rpc::kInvalidRequest, "Invalid Request: \"id\" must be a string or an integer");
  }
  return ParsedMessage{JsonRpcMessage{MessageKind::kResponse, id, "", nullptr}, std::nullopt};
}

}  // namespace

ParsedMessage parseMessage(std::string_view body) {
  if (json_text::nestingDepth(body) > kMaxDepth) {
    return fail(rpc::kInvalidRequest,
                "Invalid Request: nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  nlohmann::json object = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return fail(rpc::kParseError, "Parse error: the body is not JSON");
  if (object.is_array()) {
    return fail(rpc::kInvalidRequest,
                "Invalid Request: batches are not supported; send one JSON-RPC object per POST");
  }
  if (!object.is_object()) {
    return fail(rpc::kInvalidRequest, "Invalid Request: expected a JSON-RPC 2.0 object");
  }
  nlohmann::json id = object.contains("id") && validId(object["id"]) ? object["id"] : nullptr;
  auto version = object.find("jsonrpc");
  if (version == object.end() || *version != "2.0") {
    return fail(rpc::kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"", id);
  }
  auto method = object.find("method");
  if (method == object.end()) return classifyResponse(object);
  if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
    return fail(rpc::kInvalidRequest, "Invalid Request: \"method\" must be a non-empty string", id);
  }
  JsonRpcMessage message;
  message.method = method->get<std::string>();
  if (auto params = object.find("params"); params != object.end() && !params->is_null()) {
    if (!params->is_object()) {
      return fail(rpc::kInvalidRequest, "Invalid Request: \"params\" must be an object", id);
    }
    message.params = *params;
  }
  if (!object.contains("id")) {
    message.kind = MessageKind::kNotification;
  } else if (!validId(object["id"])) {
    return fail(rpc::kInvalidRequest, "Invalid Request: \"id\" must be a string or an integer");
  } else {
    message.kind = MessageKind::kRequest;
    message.id = object["id"];
  }
  return ParsedMessage{std::move(message), std::nullopt};
}

nlohmann::json makeResult(const nlohmann::json& id, nlohmann::json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

nlohmann::json makeError(const nlohmann::json& id, int code, std::string_view message,
                         nlohmann::json data) {
  nlohmann::json error = {{"code", code}, {"message", std::string(message)}};
  if (!data.is_null()) error["data"] = std::move(data);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

}  // namespace arkroute::mcp
