// ConnectionExchange: the handler-facing side of a client connection.
#include "proxy/http/server_exchange.h"

#include <event2/buffer.h>

#include "proxy/http/server_connection.h"

namespace arkroute::http {

ConnectionExchange::ConnectionExchange(ServerConnection* connection, event_base* base,
                                       Request request, std::string peer,
                                       const ServerLimits& limits)
    : connection_(connection),
      base_(base),
      request_(std::move(request)),
      peer_(std::move(peer)),
      limits_(limits) {}

void ConnectionExchange::respond(int status, const Headers& headers, std::string_view body) {
  respondShared(status, headers, body, nullptr);
}

void ConnectionExchange::respondShared(int status, const Headers& headers, std::string_view body,
                                       std::shared_ptr<const void> owner) {
  if (started_ || finished_) return;
  started_ = true;
  noteStatus(status);
  if (connection_) {
    connection_->writeHead(status, headers, body.size(), false);
    if (!connection_->isHead()) {
      if (owner) {
        connection_->writeBodyShared(body, std::move(owner));
      } else {
        connection_->writeBody(body);
      }
      noteBodyBytes(body.size());
    }
  }
  finish();
}

void ConnectionExchange::startResponse(int status, const Headers& headers,
                                       std::optional<uint64_t> content_length) {
  if (started_ || finished_) return;
  started_ = true;
  noteStatus(status);
  if (connection_) connection_->writeHead(status, headers, content_length, true);
}

void ConnectionExchange::writeBody(std::string_view data) {
  if (connection_ && started_ && !finished_ && !data.empty()) {
    if (!connection_->isHead()) noteBodyBytes(data.size());
    connection_->writeBody(data);
  }
}

void ConnectionExchange::writeBody(evbuffer* data) {
  if (connection_ && started_ && !finished_ && evbuffer_get_length(data) > 0) {
    if (!connection_->isHead()) noteBodyBytes(evbuffer_get_length(data));
    connection_->writeBody(data);
  } else {
    evbuffer_drain(data, evbuffer_get_length(data));
  }
}

void ConnectionExchange::endResponse() {
  if (!started_ || finished_) return;
  finish();
}

void ConnectionExchange::abort() {
  if (finished_) return;
  finished_ = true;
  on_drained_ = nullptr;
  on_client_gone_ = nullptr;
  if (ServerConnection* connection = connection_) {
    connection_ = nullptr;
    connection->abortConnection();
  }
  notifyEnded();
}

bool ConnectionExchange::writeWouldBlock() const {
  return connection_ && connection_->pendingOutput() > limits_.output_high_watermark;
}

void ConnectionExchange::onDrained(std::function<void()> callback) {
  on_drained_ = std::move(callback);
  if (connection_) connection_->requestDrainNotice();
}

void ConnectionExchange::onClientGone(std::function<void()> callback) {
  on_client_gone_ = std::move(callback);
}

void ConnectionExchange::detach() {
  connection_ = nullptr;
  on_drained_ = nullptr;
  if (finished_) return;
  auto callback = std::move(on_client_gone_);
  on_client_gone_ = nullptr;
  if (callback) callback();
  notifyEnded();
}

void ConnectionExchange::notifyDrained() {
  auto callback = std::move(on_drained_);
  on_drained_ = nullptr;
  if (callback) callback();
}

void ConnectionExchange::finish() {
  finished_ = true;
  on_drained_ = nullptr;
  on_client_gone_ = nullptr;
  if (ServerConnection* connection = connection_) {
    connection_ = nullptr;
    connection->finishResponse();
  }
  notifyEnded();
}

}  // namespace arkroute::http
