// The pipeline for POST /v1/images/generations, one object per request. Phases run in order
// (DESIGN.md "The shape"): request_filter → authenticate → route → upstream (streamed through
// to the client with backpressure) → respond → log. The log phase always runs, whatever happened.
// The handler keeps itself alive (self_) while it waits on the upstream, and runs only on its
// worker's thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proxy/api_error.h"
#include "proxy/http/server.h"
#include "proxy/http/upstream.h"
#include "proxy/image_request.h"
#include "proxy/router.h"
#include "proxy/runtime.h"

namespace arkroute {

class Worker;

class GenerationHandler : public http::UpstreamResponseHandler,
                          public std::enable_shared_from_this<GenerationHandler> {
 public:
  static void start(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                    std::string request_id);
  GenerationHandler(Worker& worker, std::shared_ptr<http::Exchange> exchange,
                    std::string request_id);
  ~GenerationHandler() override;

  void onUpstreamHead(int status, const http::Headers& headers) override;
  void onUpstreamBody(evbuffer* data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(const http::UpstreamError& error) override;

 private:
  void run();
  std::optional<ApiError> filterRequest();
  std::optional<ApiError> authenticate();
  std::optional<ApiError> route();
  void forwardUpstream();
  http::OutgoingRequest buildUpstreamRequest() const;
  http::Headers clientResponseHeaders(const http::Headers& upstream_headers) const;
  void respondError(const ApiError& error);
  void onClientGone();
  void resumeUpstream();
  void finish();

  Worker& worker_;
  std::shared_ptr<const Runtime> runtime_;
  std::shared_ptr<http::Exchange> exchange_;
  std::string request_id_;
  std::unique_ptr<ImageRequest> request_;
  const Route* route_ = nullptr;
  std::unique_ptr<http::UpstreamCall> call_;
  std::shared_ptr<GenerationHandler> self_;
  std::chrono::steady_clock::time_point started_;
  int status_ = 0;
  uint64_t bytes_out_ = 0;
  std::string outcome_;  // what the log phase reports ("ok", "client_gone", "upstream_error", ...)
  bool finished_ = false;
};

}  // namespace arkroute
