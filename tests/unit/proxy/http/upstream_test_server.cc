// The scripted loopback server used by the upstream client tests (see upstream_test_server.h).
#include "unit/proxy/http/upstream_test_server.h"

#include <arpa/inet.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <stdexcept>

namespace arkroute::http::testing {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kReadLimit{5};

struct ParseState {
  ReceivedRequest* request;
  std::string field;
  bool in_value = false;
  bool headers_done = false;
  bool complete = false;
};

ParseState* state(http_parser* parser) {
  return static_cast<ParseState*>(parser->data);
}

const http_parser_settings& requestSettings() {
  static const http_parser_settings kSettings = [] {
    http_parser_settings s{};
    s.on_url = [](http_parser* p, const char* at, size_t n) {
      state(p)->request->target.append(at, n);
      return 0;
    };
    s.on_header_field = [](http_parser* p, const char* at, size_t n) {
      ParseState* st = state(p);
      if (st->in_value) st->field.clear();
      st->in_value = false;
      st->field.append(at, n);
      return 0;
    };
    s.on_header_value = [](http_parser* p, const char* at, size_t n) {
      ParseState* st = state(p);
      if (!st->in_value) st->request->headers.add(st->field, "");
      st->in_value = true;
      st->request->headers.appendToLastValue(std::string_view(at, n));
      return 0;
    };
    s.on_headers_complete = [](http_parser* p) {
      state(p)->headers_done = true;
      return 0;
    };
    s.on_body = [](http_parser* p, const char* at, size_t n) {
      state(p)->request->body.append(at, n);
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      state(p)->complete = true;
      state(p)->request->method = http_method_str(static_cast<http_method>(p->method));
      http_parser_pause(p, 1);
      return 0;
    };
    return s;
  }();
  return kSettings;
}

}  // namespace

ServerConnection::ServerConnection(int fd, SSL* ssl, int index)
    : fd_(fd), ssl_(ssl), index_(index) {}

ServerConnection::~ServerConnection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

bool ServerConnection::resumedSession() const {
  return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

std::string ServerConnection::serverName() const {
  const char* name = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
  return name ? name : "";
}

long ServerConnection::readSome(char* buffer, size_t size, Clock::time_point deadline) {
  if (!(ssl_ && SSL_pending(ssl_) > 0)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return -1;
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return -1;
  }
  if (ssl_) return SSL_read(ssl_, buffer, static_cast<int>(size));
  return recv(fd_, buffer, size, 0);
}

// Parses one request from the buffered bytes; false on malformed input.
bool ServerConnection::parseBuffered(ReceivedRequest* request, bool* complete) {
  *request = ReceivedRequest();
  ParseState st{request};
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &st;
  size_t consumed =
      http_parser_execute(&parser, &requestSettings(), buffered_.data(), buffered_.size());
  http_errno error = HTTP_PARSER_ERRNO(&parser);
  if (error != HPE_OK && error != HPE_PAUSED) return false;
  *complete = st.complete;
  if (st.complete) {
    buffered_.erase(0, consumed);
    wanted_ = 0;
  } else if (st.headers_done && parser.content_length != ULLONG_MAX) {
    wanted_ = buffered_.size() + parser.content_length;  // parsed again once it is all here
  }
  return true;
}

bool ServerConnection::readRequest(ReceivedRequest* request) {
  auto deadline = Clock::now() + kReadLimit;
  char chunk[16384];
  while (true) {
    bool complete = false;
    if (!buffered_.empty() && buffered_.size() >= wanted_) {
      if (!parseBuffered(request, &complete)) return false;
      if (complete) return true;
    }
    long n = readSome(chunk, sizeof chunk, deadline);
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

bool ServerConnection::readAtLeast(size_t bytes) {
  auto deadline = Clock::now() + kReadLimit;
  char chunk[16384];
  while (buffered_.size() < bytes) {
    long n = readSome(chunk, sizeof chunk, deadline);
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

bool ServerConnection::write(std::string_view bytes) {
  while (!bytes.empty()) {
    long n = ssl_ ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                  : send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ServerConnection::waitForClose(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  char chunk[16384];
  while (Clock::now() < deadline) {
    long n = readSome(chunk, sizeof chunk, deadline);
    if (n > 0) continue;
    if (Clock::now() >= deadline) return false;
    return true;  // EOF, reset or TLS close
  }
  return false;
}

void ServerConnection::close() {
  std::lock_guard lock(fd_mutex_);
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void ServerConnection::closeNotify() {
  std::lock_guard lock(fd_mutex_);
  if (fd_ < 0) return;
  if (ssl_) SSL_shutdown(ssl_);
  ::shutdown(fd_, SHUT_RDWR);
}

void ServerConnection::reset() {
  std::lock_guard lock(fd_mutex_);
  if (fd_ < 0) return;
  linger hard{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd_);
  fd_ = -1;
}

void ServerConnection::shutdownForTeardown() {
  close();
}

std::string httpResponse(int status, std::string_view body, std::string_view extra_headers) {
  std::string text = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n";
  text.append(extra_headers);
  text.append("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  text.append(body);
  return text;
}

SizedAnswer answerOfSize(size_t bytes) {
  SizedAnswer answer;
  auto body_size = static_cast<long>(bytes);
  do {  // the head's length depends on the body's: twice at most (one digit fewer)
    long text_size = static_cast<long>(httpResponse(200, std::string(body_size, 'x')).size());
    body_size -= text_size - static_cast<long>(bytes);
    answer.body.assign(static_cast<size_t>(body_size), '\0');
    for (size_t i = 0; i < answer.body.size(); ++i) {
      answer.body[i] = static_cast<char>('a' + i % 26);
    }
    answer.text = httpResponse(200, answer.body);
  } while (answer.text.size() != bytes);
  return answer;
}

TestServer::TestServer(Handler handler, const Tls* tls) : handler_(std::move(handler)) {
  if (tls) {
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx_, tls->cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx_, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error("test server: cannot load " + tls->cert_file);
    }
    if (tls->max_version != 0) SSL_CTX_set_max_proto_version(ssl_ctx_, tls->max_version);
    // OpenSSL writes with write(), not send(MSG_NOSIGNAL): a client that closed first must not
    // end the test process.
    signal(SIGPIPE, SIG_IGN);
  }
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("test server: cannot listen on loopback");
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TestServer::~TestServer() {
  stopping_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  {
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_) connection->shutdownForTeardown();
  }
  for (std::thread& thread : threads_) thread.join();
  connections_.clear();
  if (ssl_ctx_) SSL_CTX_free(ssl_ctx_);
}

void TestServer::acceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 20) <= 0) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    int index = accepted_++;
    int now_open = ++open_;
    int seen = max_open_.load();
    while (now_open > seen && !max_open_.compare_exchange_weak(seen, now_open)) {
    }
    std::lock_guard lock(mutex_);
    threads_.emplace_back([this, fd, index] { serve(fd, index); });
  }
}

void TestServer::serve(int fd, int index) {
  SSL* ssl = nullptr;
  if (ssl_ctx_) {
    timeval limit{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ssl = SSL_new(ssl_ctx_);
    SSL_set_fd(ssl, fd);
  }
  auto connection = std::make_shared<ServerConnection>(fd, ssl, index);
  {
    std::lock_guard lock(mutex_);
    connections_.push_back(connection);
  }
  if (!ssl || SSL_accept(ssl) == 1) {
    if (ssl) {
      std::lock_guard lock(mutex_);
      server_names_.push_back(connection->serverName());
    }
    handler_(*connection);
  }
  connection->close();
  --open_;
}

std::vector<std::string> TestServer::serverNames() const {
  std::lock_guard lock(mutex_);
  return server_names_;
}

TestServer::Handler TestServer::echoTarget() {
  return [](ServerConnection& connection) {
    ReceivedRequest request;
    while (connection.readRequest(&request)) {
      if (!connection.write(httpResponse(200, request.target))) return;
    }
  };
}

TestServer::Handler TestServer::answerThenStray(std::string answer) {
  return [answer = std::move(answer)](ServerConnection& connection) {
    ReceivedRequest request;
    for (int served = 0; connection.readRequest(&request); ++served) {
      if (connection.index() == 0 && served == 0) {
        connection.write(answer);
        connection.write(httpResponse(200, "STRAY"));  // its own write (its own TLS records)
      } else if (!connection.write(httpResponse(200, "second"))) {
        return;
      }
    }
  };
}

}  // namespace arkroute::http::testing
