// HttpServer: the listening socket and the set of live client connections on one event loop.
#include "proxy/http/server.h"

#include <arpa/inet.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "proxy/http/error_line.h"
#include "proxy/http/server_connection.h"

namespace arkroute::http {

struct HttpServer::Impl {
  ServerShared shared;
  evconnlistener* listener = nullptr;
  uint16_t port = 0;
  std::unordered_set<ServerConnection*> connections;
  event* resume_accepting = nullptr;  // ends an accept pause
  std::shared_ptr<std::atomic<uint64_t>> accept_pauses;
  std::chrono::steady_clock::time_point last_pause_message;
  uint64_t pauses_since_message = 0;

  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                       void* arg);
  static void onAcceptError(evconnlistener* listener, void* arg);
  static void onResumeAccepting(evutil_socket_t, short, void* arg);
  void reportAcceptPause(int error);
};

namespace {

std::string describePeer(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (address->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (address->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

bool resolveListenAddress(const std::string& host, uint16_t port, sockaddr_storage* out,
                          int* length) {
  std::memset(out, 0, sizeof *out);
  auto* in = reinterpret_cast<sockaddr_in*>(out);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  std::string name = host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, name.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    *length = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, name.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    *length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace

void HttpServer::Impl::onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int,
                                void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  evutil_make_socket_nonblocking(fd);
  impl->connections.insert(new ServerConnection(impl->shared, fd, describePeer(address)));
}

// libevent calls this for accept() errors other than the retriable ones (EAGAIN, EINTR,
// ECONNABORTED): those that persist while the listening socket stays readable.
void HttpServer::Impl::onAcceptError(evconnlistener* listener, void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  int error = EVUTIL_SOCKET_ERROR();
  evconnlistener_disable(listener);
  timeval pause{0, static_cast<suseconds_t>(kAcceptPause.count() * 1000)};
  evtimer_add(impl->resume_accepting, &pause);
  if (impl->accept_pauses) impl->accept_pauses->fetch_add(1, std::memory_order_relaxed);
  impl->reportAcceptPause(error);
}

void HttpServer::Impl::reportAcceptPause(int error) {
  ++pauses_since_message;
  auto now = std::chrono::steady_clock::now();
  bool first = last_pause_message == std::chrono::steady_clock::time_point{};
  if (!first && now - last_pause_message < std::chrono::seconds(10)) return;
  std::string hint = error == EMFILE || error == ENFILE
                         ? " (raise the open-files limit: ulimit -n, or LimitNOFILE= in the unit)"
                         : "";
  // One write(2), no iostreams: with no descriptor to spare, nothing on this path may need one
  // (UBSan's first check of a type it has not seen, e.g. std::endl's locale facet, does).
  writeErrorLine("arkroute: cannot accept connections: " + std::string(std::strerror(error)) +
                 hint + "; accepting paused for " + std::to_string(kAcceptPause.count()) + " ms (" +
                 std::to_string(pauses_since_message) +
                 (pauses_since_message == 1 ? " pause" : " pauses") + " since the last message)");
  last_pause_message = now;
  pauses_since_message = 0;
}

void HttpServer::Impl::onResumeAccepting(evutil_socket_t, short, void* arg) {
  auto* impl = static_cast<Impl*>(arg);
  if (impl->listener && impl->shared.accepting) evconnlistener_enable(impl->listener);
}

HttpServer::HttpServer(event_base* base, ServerLimits limits, RequestHandler handler,
                       ErrorBodyFn error_body)
    : impl_(std::make_unique<Impl>()) {
  impl_->shared.base = base;
  impl_->shared.limits = limits;
  impl_->shared.handler = std::move(handler);
  impl_->shared.error_body = std::move(error_body);
  Impl* impl = impl_.get();
  impl_->resume_accepting = evtimer_new(base, &Impl::onResumeAccepting, impl);
  impl_->shared.on_closed = [impl](ServerConnection* connection) {
    impl->connections.erase(connection);
    delete connection;
  };
}

HttpServer::~HttpServer() {
  if (impl_->listener) evconnlistener_free(impl_->listener);
  event_free(impl_->resume_accepting);
  auto connections = std::move(impl_->connections);
  for (ServerConnection* connection : connections) delete connection;
}

bool HttpServer::portIsFree(const std::string& host, uint16_t port, std::string* error) {
  sockaddr_storage address;
  int length = 0;
  if (!resolveListenAddress(host, port, &address, &length)) return true;  // listen() says why
  int probe = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return true;
  int on = 1;
  setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // TIME_WAIT leftovers are fine
  bool is_free = bind(probe, reinterpret_cast<sockaddr*>(&address), length) == 0;
  int bind_errno = errno;
  close(probe);
  if (!is_free && bind_errno == EADDRINUSE) {
    *error = "cannot listen on " + host + ":" + std::to_string(port) +
             ": another process is listening on it (is another arkroute running?)";
    return false;
  }
  return true;  // other failures (e.g. no permission) are reported by listen()
}

bool HttpServer::listen(const std::string& host, uint16_t port, bool reuse_port,
                        std::string* error) {
  sockaddr_storage address;
  int length = 0;
  if (!resolveListenAddress(host, port, &address, &length)) {
    *error = "cannot listen on '" + host + "': not an IP address";
    return false;
  }
  unsigned flags = LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
  if (reuse_port) flags |= LEV_OPT_REUSEABLE_PORT;
  impl_->listener = evconnlistener_new_bind(impl_->shared.base, &Impl::onAccept, impl_.get(), flags,
                                            1024, reinterpret_cast<sockaddr*>(&address), length);
  if (!impl_->listener) {
    *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  evconnlistener_set_error_cb(impl_->listener, &Impl::onAcceptError);
  sockaddr_storage bound;
  socklen_t bound_length = sizeof bound;
  getsockname(evconnlistener_get_fd(impl_->listener), reinterpret_cast<sockaddr*>(&bound),
              &bound_length);
  impl_->port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return true;
}

uint16_t HttpServer::boundPort() const {
  return impl_->port;
}

void HttpServer::onRejected(RejectHook hook) {
  impl_->shared.on_rejected = std::move(hook);
}

void HttpServer::countAcceptPausesIn(std::shared_ptr<std::atomic<uint64_t>> pauses) {
  impl_->accept_pauses = std::move(pauses);
}

void HttpServer::stopAccepting() {
  impl_->shared.accepting = false;
  event_del(impl_->resume_accepting);
  if (impl_->listener) {
    evconnlistener_free(impl_->listener);
    impl_->listener = nullptr;
  }
  auto connections = impl_->connections;
  for (ServerConnection* connection : connections) connection->closeIfIdle();
}

size_t HttpServer::openConnections() const {
  return impl_->shared.open_connections;
}
size_t HttpServer::activeExchanges() const {
  return impl_->shared.active_exchanges;
}

}  // namespace arkroute::http
