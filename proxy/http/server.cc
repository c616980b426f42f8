// HttpServer: the listening socket and the set of live client connections on one event loop.
#include "proxy/http/server.h"

#include <arpa/inet.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <unordered_set>

#include "proxy/http/server_connection.h"

namespace arkroute::http {

struct HttpServer::Impl {
  ServerShared shared;
  evconnlistener* listener = nullptr;
  uint16_t port = 0;
  std::unordered_set<ServerConnection*> connections;

  static void onAccept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int length,
                       void* arg);
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

HttpServer::HttpServer(event_base* base, ServerLimits limits, RequestHandler handler,
                       ErrorBodyFn error_body)
    : impl_(std::make_unique<Impl>()) {
  impl_->shared.base = base;
  impl_->shared.limits = limits;
  impl_->shared.handler = std::move(handler);
  impl_->shared.error_body = std::move(error_body);
  Impl* impl = impl_.get();
  impl_->shared.on_closed = [impl](ServerConnection* connection) {
    impl->connections.erase(connection);
    delete connection;
  };
}

HttpServer::~HttpServer() {
  if (impl_->listener) evconnlistener_free(impl_->listener);
  auto connections = std::move(impl_->connections);
  for (ServerConnection* connection : connections) delete connection;
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

void HttpServer::stopAccepting() {
  impl_->shared.accepting = false;
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
