// An in-process Exchange: runs a request through the same pipeline a socket client gets (routing,
// cache, coalescing, limits) and hands the complete response to a callback instead of a socket.
// Used by the MCP endpoint's generate_image and edit_image tools.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "proxy/http/server.h"

namespace arkroute {

struct InternalResponse {
  int status = 0;  // 0 when the pipeline aborted the response (e.g. upstream cut mid-body)
  http::Headers headers;
  std::string body;
  std::string cached_images_id;  // the cache entry holding the images ("" when none)
};

class InternalExchange : public http::Exchange {
 public:
  using Done = std::function<void(InternalResponse)>;
  InternalExchange(event_base* base, http::Request request, Done done);

  const http::Request& request() const override { return request_; }
  event_base* base() const override { return base_; }
  const std::string& peerAddress() const override { return peer_; }
  void respond(int status, const http::Headers& headers, std::string_view body) override;
  void startResponse(int status, const http::Headers& headers,
                     std::optional<uint64_t> content_length) override;
  void writeBody(std::string_view data) override;
  void writeBody(evbuffer* data) override;
  void endResponse() override;
  void abort() override;
  bool responseStarted() const override { return started_; }
  bool finished() const override { return finished_; }
  bool clientGone() const override { return false; }
  bool writeWouldBlock() const override { return false; }
  void onDrained(std::function<void()> callback) override;
  void onClientGone(std::function<void()>) override {}
  void noteCachedImages(std::string_view entry_id) override {
    response_.cached_images_id = entry_id;
  }
  bool notesCachedImages() const override { return true; }

 private:
  void complete();

  event_base* base_;
  http::Request request_;
  Done done_;
  std::string peer_ = "internal";
  InternalResponse response_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace arkroute
