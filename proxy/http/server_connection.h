// One client connection of the HTTP server: reads and parses requests (http-parser) within the
// size and time limits, hands each complete request to the handler as an Exchange, writes the
// response (whole, Content-Length streamed, or chunked) with backpressure, and serves keep-alive
// and pipelined requests in order. Owned by HttpServer; frees itself from a deferred event.
#pragma once

#include <event2/event.h>
#include <http_parser.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "proxy/http/chunk_ends.h"
#include "proxy/http/lazy_timer.h"
#include "proxy/http/server.h"
#include "proxy/http/socket_stream.h"

namespace arkroute::http {

class ConnectionExchange;

struct ServerShared {
  event_base* base;
  ServerLimits limits;
  RequestHandler handler;
  ErrorBodyFn error_body;
  HttpServer::RejectHook on_rejected;
  size_t open_connections = 0;
  size_t active_exchanges = 0;
  bool accepting = true;
  std::function<void(class ServerConnection*)> on_closed;
};

class ServerConnection : private SocketStream::Handler {
 public:
  ServerConnection(ServerShared& shared, evutil_socket_t fd, std::string peer);
  ~ServerConnection() override;

  // Called by the exchange.
  void writeHead(int status, const Headers& headers, std::optional<uint64_t> content_length,
                 bool chunked_allowed);
  void writeBody(std::string_view data);
  void writeBody(evbuffer* data);
  // A whole (non-chunked) body that owner keeps alive, referenced instead of copied.
  void writeBodyShared(std::string_view data, std::shared_ptr<const void> owner);
  void finishResponse();
  void abortConnection();
  size_t pendingOutput() const;
  void requestDrainNotice();
  bool isHead() const;  // the request being answered is a HEAD
  void closeIfIdle();

 private:
  friend class ServerParserCallbacks;
  void onStreamRead() override;
  void onStreamWritten() override;
  void onStreamEvent(short what) override;
  static void onTimer(void* arg);
  static void onDeferred(evutil_socket_t, short, void* arg);

  void processInput();
  bool parseAvailable();
  int refuseChunkEnd();
  void keepRequestLine(std::string_view data);
  bool takeSimpleRequest();
  void dispatch();
  void failRequest(int status, std::string_view message);
  void clientGone();
  void detachExchange();  // the request in progress, if any, learns its client is gone
  void scheduleDeferred();
  void destroy();
  // Lingering close: after a refusal (or with the client's bytes unread), close() would send a
  // reset that can destroy the answer before the client reads it. Instead the write side is shut
  // (FIN after the answer) and what the client still sends is read and dropped until it closes,
  // kLingerIdle passes without data, or kLingerTotal passes.
  bool shouldLinger() const;
  void startLingering();
  void lingerRead();
  void armLingerTimer();
  void shortenLinger();

  ServerShared& shared_;
  std::unique_ptr<SocketStream> stream_;
  LazyTimer timer_;  // the request timeout while one arrives, the idle timeout between requests
  event* deferred_ = nullptr;
  std::string peer_;
  http_parser parser_;
  ChunkEnds chunk_ends_;  // checks what this libhttp-parser build does not (chunk_ends.h)
  Request request_;
  std::string target_;        // the slow path's request target ("/v1/models?x=1"), read in pieces
  std::string request_line_;  // ...and its request line, without the line end
  bool request_line_done_ = false;
  std::string header_field_;
  bool last_was_value_ = false;
  bool message_complete_ = false;
  bool headers_complete_ = false;
  bool in_request_ = false;
  size_t head_bytes_ = 0;
  int error_status_ = 0;
  std::string error_message_;  // set with error_status_ by a check on the whole head
  bool keep_alive_ = true;
  bool chunked_response_ = false;
  bool closing_ = false;  // close once output is flushed
  bool destroyed_ = false;
  bool drain_wanted_ = false;
  bool refused_ = false;    // failRequest: the client may still be sending its request
  bool lingering_ = false;  // write side shut; reading and dropping until the client closes
  bool linger_over_ = false;
  std::chrono::steady_clock::time_point linger_until_;
  std::shared_ptr<ConnectionExchange> exchange_;
};

}  // namespace arkroute::http
