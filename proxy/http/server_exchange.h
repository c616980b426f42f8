// The Exchange a socket client gets: forwards response writes to its ServerConnection while the
// connection lives, and turns them into no-ops once the client is gone.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "proxy/http/server.h"

namespace arkroute::http {

class ServerConnection;

class ConnectionExchange : public Exchange {
 public:
  ConnectionExchange(ServerConnection* connection, event_base* base, Request request,
                     std::string peer, const ServerLimits& limits);

  const Request& request() const override { return request_; }
  event_base* base() const override { return base_; }
  const std::string& peerAddress() const override { return peer_; }
  void respond(int status, const Headers& headers, std::string_view body) override;
  void respondShared(int status, const Headers& headers, std::string_view body,
                     std::shared_ptr<const void> owner) override;
  void startResponse(int status, const Headers& headers,
                     std::optional<uint64_t> content_length) override;
  void writeBody(std::string_view data) override;
  void writeBody(evbuffer* data) override;
  void endResponse() override;
  void abort() override;
  bool responseStarted() const override { return started_; }
  bool finished() const override { return finished_; }
  bool clientGone() const override { return connection_ == nullptr && !finished_; }
  bool writeWouldBlock() const override;
  void onDrained(std::function<void()> callback) override;
  void onClientGone(std::function<void()> callback) override;

  // Called by the connection.
  void detach();         // the client went away (or the connection closed)
  void notifyDrained();  // output fell below the low watermark

 private:
  void finish();

  ServerConnection* connection_;
  event_base* base_;
  Request request_;
  std::string peer_;
  const ServerLimits& limits_;
  bool started_ = false;
  bool finished_ = false;
  std::function<void()> on_drained_;
  std::function<void()> on_client_gone_;
};

}  // namespace arkroute::http
