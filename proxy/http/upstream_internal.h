// Internals of the upstream client shared by upstream_connection.cc and upstream_pool.cc: one
// connection (plain or TLS) that parses responses with http-parser, the call object handed to
// callers, and the pool that owns both. Not part of the public interface (see upstream.h).
#pragma once

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <http_parser.h>

#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/http/upstream.h"

namespace arkroute::http {

class PoolCore;
class CallImpl;

class UpstreamConnection {
 public:
  UpstreamConnection(PoolCore& pool, bool fresh_for_retry);
  ~UpstreamConnection();

  // Starts the connection for call; its request is written once connected. Never calls the
  // handler synchronously.
  void connect(CallImpl* call);
  // Fails the current call (timeouts decided by the call) and closes the connection.
  void failCall(UpstreamError::Kind kind, std::string message) { fail(kind, std::move(message)); }
  void send(CallImpl* call);  // write call's request (connected, idle connection)
  void detachCall();          // the call was cancelled: close, never reuse
  void pauseReading();
  void resumeReading();
  bool connected() const { return connected_; }
  uint64_t requestsSent() const { return requests_sent_; }
  void closeSoon();  // close from a deferred event (safe inside callbacks)
  void makeIdle();

 private:
  friend class UpstreamParserCallbacks;
  static void onRead(bufferevent*, void* arg);
  static void onEvent(bufferevent*, short what, void* arg);
  static void onDeferred(evutil_socket_t, short, void* arg);
  static void onIdleTimeout(evutil_socket_t, short, void* arg);

  void readResponse();
  void drainSocket();
  void readInto(evbuffer* input, evutil_socket_t fd);
  void deliverParsed();
  void fail(UpstreamError::Kind kind, std::string message);
  void onConnected();
  void onConnectFailed(short what);
  void onPeerClosed();
  std::string describeConnectError() const;
  void resetResponseState();

  PoolCore& pool_;
  bufferevent* bev_ = nullptr;
  event* deferred_ = nullptr;
  event* idle_timer_ = nullptr;
  http_parser parser_;
  CallImpl* call_ = nullptr;
  bool connected_ = false;
  bool closing_ = false;
  bool paused_ = false;
  bool connect_failed_ = false;  // reported from the deferred event, never synchronously
  uint64_t requests_sent_ = 0;
  // Response being parsed.
  int status_ = 0;
  Headers headers_;
  std::string field_;
  bool last_was_value_ = false;
  bool head_ready_ = false;  // parsed, not yet delivered
  bool head_delivered_ = false;
  bool complete_ = false;
  bool keep_alive_ = false;
  bool skip_interim_ = false;
  uint64_t response_bytes_ = 0;
  evbuffer* body_ = nullptr;
};

class CallImpl : public UpstreamCall {
 public:
  CallImpl(PoolCore& pool, std::string wire, UpstreamResponseHandler* handler);
  ~CallImpl() override;
  void pauseReading() override;
  void resumeReading() override;
  void cancel() override;
  bool reusedConnection() const override { return reused_; }

  // Pool/connection side.
  void attach(UpstreamConnection* connection, bool reused);
  void requestWritten();
  void headArrived();
  void finished();  // response complete or failed: stop timers, forget the connection
  void failBeforeConnection(UpstreamError error);
  const std::string& wire() const { return wire_; }
  UpstreamResponseHandler* handler() const { return handler_; }
  UpstreamConnection* connection() const { return connection_; }
  bool retried() const { return retried_; }
  void markRetried() { retried_ = true; }

 private:
  static void onTotalTimeout(evutil_socket_t, short, void* arg);
  static void onFirstByteTimeout(evutil_socket_t, short, void* arg);
  void timeout(std::string message);

  PoolCore& pool_;
  std::string wire_;
  UpstreamResponseHandler* handler_;
  UpstreamConnection* connection_ = nullptr;
  event* total_timer_ = nullptr;
  event* first_byte_timer_ = nullptr;
  bool reused_ = false;
  bool retried_ = false;
  bool done_ = false;
  bool paused_ = false;
};

class PoolCore {
 public:
  PoolCore(event_base* base, evdns_base* dns, UpstreamEndpoint endpoint, PoolOptions options);
  ~PoolCore();

  void submit(CallImpl* call);
  void forget(CallImpl* call);  // remove a cancelled call from the wait queue
  // The connection finished a response; reusable = passed the reject list.
  void release(UpstreamConnection* connection, bool reusable);
  void retryOnFreshConnection(CallImpl* call);
  void connectionClosed(UpstreamConnection* connection);
  void destroy(UpstreamConnection* connection);

  event_base* base;
  evdns_base* dns;
  UpstreamEndpoint endpoint;
  PoolOptions options;
  UpstreamPool::Stats stats;
  std::vector<UpstreamConnection*> idle;
  std::unordered_set<UpstreamConnection*> all;
  std::deque<CallImpl*> waiting;

 private:
  void startOn(CallImpl* call, UpstreamConnection* connection, bool reused);
  void openFor(CallImpl* call);
  void serveWaiting();
  std::unordered_set<UpstreamConnection*> closing_;
};

}  // namespace arkroute::http
