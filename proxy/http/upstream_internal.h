// Internals of the upstream client, shared by upstream_connection.cc, upstream_call.cc and
// upstream_pool.cc: one provider connection (plain or TLS), the call object handed to callers and
// the pool core that owns connections and queues calls. Not part of the public interface.
//
// Re-entrancy rules: a handler may destroy its call (or cancel it) inside any callback, so every
// path calls the handler last and re-checks the connection's current call afterwards; connection
// objects are deleted only from their own deferred event, never inside a callback stack; and
// nothing reaches a handler from inside UpstreamPool::start().
#pragma once

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include <deque>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "proxy/http/deadline_list.h"
#include "proxy/http/lazy_timer.h"
#include "proxy/http/socket_stream.h"
#include "proxy/http/tls_client.h"
#include "proxy/http/upstream.h"
#include "proxy/http/upstream_response.h"

namespace arkroute::http {

class PoolCore;
class CallImpl;

// A connection connects through a socket bufferevent (asynchronous DNS and connect), then moves its
// socket to a SocketStream, the cheaper hot path, which also runs TLS on an HTTPS connection.
class UpstreamConnection : private SocketStream::Handler {
 public:
  explicit UpstreamConnection(PoolCore& pool);
  ~UpstreamConnection() override;
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Opens the connection (DNS, TCP, TLS) for call, whose request is sent once connected.
  void connect(CallImpl* call);
  // Sends call's request on this connected, idle connection.
  void send(CallImpl* call);
  // Fails the current call with that error and closes the connection (timeouts).
  void failCall(UpstreamError::Kind kind, std::string message);
  void abandonCall();  // the call was cancelled or destroyed: close, never reuse, no callbacks
  void makeIdle();     // parked in the pool: any byte or EOF from the peer closes it
  void pauseReading();
  void resumeReading();

 private:
  static void onEvent(bufferevent* bev, short what, void* arg);
  void onStreamRead() override;
  void onStreamWritten() override;
  void onStreamEvent(short what) override;
  static void onDeferred(evutil_socket_t, short, void* arg);
  static void onTimer(void* arg);

  bool createBufferevent();
  void onTcpConnected();
  void setReading(bool on);
  void handleEvent(short what);
  void recordConnectFailure(int socket_error);
  void onConnected();
  void pump();
  evbuffer* gatherInput();
  bool unreadBytes() const;
  bool deliver(CallImpl* call);
  template <class Callback>
  bool handOver(CallImpl* call, Callback&& callback);
  void finishResponse(CallImpl* call);
  void onClosedMidResponse(CallImpl* call);
  void fail(UpstreamError::Kind kind, std::string message);
  void deferEvents(short what);
  void closeSoon(CallImpl* retry = nullptr);
  std::string hostPort() const;
  // The TCP connection is made (a TLS connection may still be in its handshake).
  bool tcpConnected() const;
  // handleEvent's EOF or error ended the connection in order (see closed_in_order_).
  bool endedInOrder(short what) const;

  PoolCore& pool_;
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  bufferevent* bev_ = nullptr;            // while the TCP connection is being made
  std::unique_ptr<SSL, SslFree> ssl_;     // an HTTPS connection's, until its stream takes it
  std::unique_ptr<SocketStream> stream_;  // once the TCP connection is made
  LazyTimer timer_;            // connect timeout while connecting, idle timeout while idle
  event* deferred_ = nullptr;  // work moved out of callback stacks: events, resume, destruction
  evbuffer* input_ = nullptr;  // response bytes taken from the stream, unparsed
  evbuffer* body_ = nullptr;   // de-chunked body bytes of the current read, handed to the handler
  ResponseParser parser_;
  CallImpl* call_ = nullptr;
  UpstreamError::Kind connect_error_kind_ = UpstreamError::Kind::kConnect;
  std::string connect_error_;
  short deferred_events_ = 0;  // connect events that arrived inside connect()
  int in_sync_section_ = 0;    // inside connect() (a SocketStream never calls back synchronously)
  bool connected_ = false;
  bool closing_ = false;
  bool paused_ = false;
  bool peer_closed_ = false;
  // The peer ended the connection in order: a FIN, and over TLS a close_notify before it. Only
  // such an end completes a body framed by the connection's close; a reset or a TLS connection
  // cut without close_notify leaves it unfinished (it may have been cut).
  bool closed_in_order_ = false;
  bool head_delivered_ = false;
  bool awaiting_flush_ = false;
};

class CallImpl final : public UpstreamCall {
 public:
  CallImpl(PoolCore& pool, OutgoingRequest&& request, UpstreamResponseHandler* handler);
  ~CallImpl() override;
  void pauseReading() override;
  void resumeReading() override;
  void cancel() override;
  bool reusedConnection() const override { return reused_; }
  bool awaitingAnswer() const override { return flushed_ && !head_arrived_ && !done_; }

  // Pool and connection side.
  void attach(UpstreamConnection* connection, bool reused);
  void detachForRetry();  // the stale keep-alive connection is gone; a fresh one follows
  void writeRequest(evbuffer* output) const;
  void requestFlushed();  // the request left the output buffer: the first-byte clock starts
  void headArrived();
  // The last callbacks: stop the timers, forget the connection, then tell the handler (which may
  // destroy this call, so nothing touches it afterwards).
  void complete();
  void fail(const UpstreamError& error);
  void poolGone();  // the pool is being destroyed: become inert, no more callbacks
  UpstreamResponseHandler* handler() const { return handler_; }
  // The pool's lists call these when a timeout expires (arg: the call).
  static void onTotalTimeout(void* arg);
  static void onFirstByteTimeout(void* arg);
  bool headRequest() const { return head_request_; }
  bool paused() const { return paused_; }
  bool retried() const { return retried_; }
  bool flushed() const { return flushed_; }

  // The pool's list of live calls (intrusive: joining and leaving it allocates nothing).
  CallImpl* prev_in_pool = nullptr;
  CallImpl* next_in_pool = nullptr;

 private:
  void stopTimeouts();
  void timeout(std::string message);
  UpstreamResponseHandler* finish();
  template <class Callback>
  void endWith(Callback&& last_callback, bool is_error);

  PoolCore* pool_;
  UpstreamResponseHandler* handler_;
  std::string wire_;             // request head, followed by the body when it is small
  std::string_view large_body_;  // written by reference, never copied, kept alive by its owner
  std::shared_ptr<const void> large_body_owner_;
  UpstreamConnection* connection_ = nullptr;
  DeadlineList::Entry total_timeout_;       // from the start, in the pool's totalTimeouts()
  DeadlineList::Entry first_byte_timeout_;  // from the request's flush to the response head
  bool* destroyed_ = nullptr;  // set while a final callback runs: the handler may destroy this
  bool head_request_ = false;
  bool head_arrived_ = false;  // a response may start before the upload has been flushed
  bool flushed_ = false;       // the request left the output buffer (on the current connection)
  bool reused_ = false;
  bool retried_ = false;
  bool done_ = false;
  bool paused_ = false;
};

class PoolCore {
 public:
  PoolCore(event_base* base, evdns_base* dns, UpstreamEndpoint endpoint, PoolOptions options);
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  void add(CallImpl* call);     // a new call: runs now or waits in FIFO order
  void remove(CallImpl* call);  // the call is being destroyed
  void forget(CallImpl* call);  // leaves the wait queue (cancelled or timed out while waiting)
  // The connection finished a response and passed the reject list: next waiting call, or idle.
  void release(UpstreamConnection* connection);
  // The connection is closing: frees its slot. retry (the stale keep-alive case) gets a fresh
  // connection before any waiting call.
  void connectionClosed(UpstreamConnection* connection, CallImpl* retry);
  void destroy(UpstreamConnection* connection);  // from the connection's deferred event
  void countOpened() {
    ++stats_.connections_opened;
    if (options_.counters) options_.counters->opened.add(1);
  }
  UpstreamPool::Stats stats() const;

  event_base* base() const { return base_; }
  evdns_base* dns() const { return dns_; }
  const UpstreamEndpoint& endpoint() const { return endpoint_; }
  const std::string& hostHeader() const { return host_header_; }
  const PoolOptions& options() const { return options_; }
  TlsSessionCache& tlsSessions() { return tls_sessions_; }
  DeadlineList& totalTimeouts() { return total_timeouts_; }
  DeadlineList& firstByteTimeouts() { return first_byte_timeouts_; }

 private:
  void startOn(CallImpl* call, UpstreamConnection* connection);
  void openFor(CallImpl* call);
  void serveWaiting();
  bool hasFreeSlot() const;

  event_base* base_;
  evdns_base* dns_;
  UpstreamEndpoint endpoint_;
  std::string host_header_;  // the Host value every request carries
  PoolOptions options_;
  UpstreamPool::Stats stats_;
  TlsSessionCache tls_sessions_;      // outlives the connections' SSLs (~PoolCore deletes them)
  DeadlineList total_timeouts_;       // every call's, from its start
  DeadlineList first_byte_timeouts_;  // a call's, from its request's flush to the head
  std::vector<UpstreamConnection*> idle_;  // LIFO: the most recently used is the warmest
  std::unordered_set<UpstreamConnection*> open_;
  std::unordered_set<UpstreamConnection*> closing_;
  std::deque<CallImpl*> waiting_;
  CallImpl* calls_ = nullptr;  // head of the live calls' list
  bool shutting_down_ = false;
};

}  // namespace arkroute::http
