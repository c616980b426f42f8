// Image generation pipeline: validation, routing, forwarding and streaming the answer back.
#include "proxy/generation_handler.h"

#include <event2/buffer.h>

#include <array>

#include "proxy/body_rewrite.h"
#include "proxy/responses.h"
#include "proxy/worker.h"

namespace arkroute {

namespace {

// Client headers never forwarded upstream: hop-by-hop ones, the ones the pool sets, credentials
// (replaced by the upstream's key) and Accept-Encoding (the gateway reads bodies to cache them).
constexpr std::array<std::string_view, 13> kRequestHeadersNotForwarded = {"connection",
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
                                                                          "expect"};

// Upstream headers never passed back: hop-by-hop ones and those the gateway sets itself.
constexpr std::array<std::string_view, 9> kResponseHeadersNotForwarded = {
    "connection",     "keep-alive",   "proxy-connection", "transfer-encoding", "te", "trailer",
    "content-length", "x-request-id", "upgrade"};

template <size_t N>
bool listed(const std::array<std::string_view, N>& list, std::string_view name) {
  for (std::string_view entry : list) {
    if (http::equalsIgnoreCase(entry, name)) return true;
  }
  return false;
}

ApiError upstreamError(const http::UpstreamError& error, std::string_view upstream) {
  std::string prefix = "Upstream '" + std::string(upstream) + "' ";
  switch (error.kind) {
    case http::UpstreamError::Kind::kTimeout:
      return ApiError::upstreamFailure(504, prefix + "timed out: " + error.message,
                                       "upstream_timeout");
    case http::UpstreamError::Kind::kTls:
      return ApiError::upstreamFailure(502, prefix + "failed TLS verification: " + error.message,
                                       "upstream_tls_error");
    case http::UpstreamError::Kind::kDns:
      return ApiError::upstreamFailure(502, prefix + "could not be resolved: " + error.message,
                                       "upstream_dns_error");
    default:
      return ApiError::upstreamFailure(502, prefix + "failed: " + error.message,
                                       "upstream_unavailable");
  }
}

}  // namespace

void GenerationHandler::start(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                              std::string request_id) {
  auto handler =
      std::make_shared<GenerationHandler>(worker, std::move(exchange), std::move(request_id));
  handler->self_ = handler;
  handler->run();
}

GenerationHandler::GenerationHandler(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                                     std::string request_id)
    : worker_(worker),
      runtime_(worker.runtimeRef()),
      exchange_(std::move(exchange)),
      request_id_(std::move(request_id)),
      started_(std::chrono::steady_clock::now()) {}

GenerationHandler::~GenerationHandler() = default;

void GenerationHandler::run() {
  std::weak_ptr<GenerationHandler> weak = shared_from_this();
  exchange_->onClientGone([weak] {
    if (auto self = weak.lock()) self->onClientGone();
  });
  std::optional<ApiError> error = filterRequest();
  if (!error) error = authenticate();
  if (!error) error = route();
  if (error) {
    respondError(*error);
    return;
  }
  forwardUpstream();
}

std::optional<ApiError> GenerationHandler::filterRequest() {
  auto parsed = ImageRequest::parse(exchange_->request().body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return *error;
  request_ = std::move(std::get<std::unique_ptr<ImageRequest>>(parsed));
  return std::nullopt;
}

std::optional<ApiError> GenerationHandler::authenticate() {
  // auth.mode = "open": anyone may call; the client's own Authorization is never forwarded.
  // "passthrough": the client's Authorization is forwarded instead of the upstream key.
  return std::nullopt;
}

std::optional<ApiError> GenerationHandler::route() {
  route_ = runtime_->router().find(request_->model());
  if (!route_) return ApiError::modelNotFound(request_->model());
  return std::nullopt;
}

http::OutgoingRequest GenerationHandler::buildUpstreamRequest() const {
  http::OutgoingRequest out;
  out.method = "POST";
  out.path = route_->upstream->base_path + "/images/generations";
  const http::Request& in = exchange_->request();
  for (const auto& [name, value] : in.headers) {
    if (!listed(kRequestHeadersNotForwarded, name)) out.headers.add(name, value);
  }
  out.headers.set("x-request-id", request_id_);
  const UpstreamConfig& upstream = *route_->upstream;
  if (runtime_->config().auth.mode == AuthMode::kPassthrough) {
    if (const std::string* auth = in.headers.find("authorization")) {
      out.headers.set("Authorization", *auth);
    }
  } else if (!upstream.api_key.empty()) {
    out.headers.set("Authorization", "Bearer " + upstream.api_key);
  }
  const std::string& upstream_model = route_->model->upstream_model;
  if (upstream_model != request_->model()) {
    out.body =
        setTopLevelString(request_->body(), "model", upstream_model).value_or(request_->body());
  } else {
    out.body = request_->body();
  }
  return out;
}

void GenerationHandler::forwardUpstream() {
  call_ = worker_.pool(route_->upstream_index).start(buildUpstreamRequest(), this);
}

http::Headers GenerationHandler::clientResponseHeaders(const http::Headers& upstream) const {
  http::Headers headers;
  for (const auto& [name, value] : upstream) {
    if (!listed(kResponseHeadersNotForwarded, name)) headers.add(name, value);
  }
  if (const std::string* upstream_id = upstream.find("x-request-id")) {
    headers.set("x-upstream-request-id", *upstream_id);
  }
  headers.set("x-request-id", request_id_);
  headers.set("X-ArkRoute-Model", route_->model->name);
  headers.set("X-ArkRoute-Cache", "BYPASS");
  return headers;
}

void GenerationHandler::onUpstreamHead(int status, const http::Headers& headers) {
  status_ = status;
  std::optional<uint64_t> length;
  const std::string* content_length = headers.find("content-length");
  if (content_length && !headers.has("transfer-encoding")) {
    length = std::strtoull(content_length->c_str(), nullptr, 10);
  }
  exchange_->startResponse(status, clientResponseHeaders(headers), length);
}

void GenerationHandler::onUpstreamBody(evbuffer* data) {
  bytes_out_ += evbuffer_get_length(data);
  exchange_->writeBody(data);
  if (exchange_->writeWouldBlock() && call_) {
    call_->pauseReading();
    std::weak_ptr<GenerationHandler> weak = shared_from_this();
    exchange_->onDrained([weak] {
      if (auto self = weak.lock()) self->resumeUpstream();
    });
  }
}

void GenerationHandler::resumeUpstream() {
  if (call_) call_->resumeReading();
}

void GenerationHandler::onUpstreamComplete() {
  exchange_->endResponse();
  outcome_ = "ok";
  finish();
}

void GenerationHandler::onUpstreamError(const http::UpstreamError& error) {
  outcome_ = "upstream_error";
  if (error.head_received || exchange_->responseStarted()) {
    // Part of the body already went out: the client must see a truncated response.
    exchange_->abort();
    finish();
    return;
  }
  respondError(upstreamError(error, route_->upstream->name));
}

void GenerationHandler::respondError(const ApiError& error) {
  status_ = error.status;
  if (outcome_.empty()) outcome_ = std::string(toString(error.source)) + "_error";
  http::Headers headers;
  if (route_) headers.set("X-ArkRoute-Model", route_->model->name);
  sendError(*exchange_, error, request_id_, std::move(headers));
  finish();
}

void GenerationHandler::onClientGone() {
  if (finished_) return;
  outcome_ = "client_gone";
  call_.reset();  // cancels the upstream request: nobody is waiting for it
  finish();
}

void GenerationHandler::finish() {
  if (finished_) return;
  finished_ = true;
  auto keep_alive_until_return = std::move(self_);
}

}  // namespace arkroute
