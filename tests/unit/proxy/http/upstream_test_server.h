// A scripted loopback HTTP/1.1 server for the upstream client tests: blocking sockets (optionally
// TLS through OpenSSL), one thread per connection running the test's handler, requests parsed
// with http-parser, and counters for what the client did (accepts, concurrent connections, SNI).
// Every read is bounded in time, and the destructor stops everything.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "proxy/http/headers.h"

namespace arkroute::http::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
};

class ServerConnection {
 public:
  ServerConnection(int fd, SSL* ssl, int index);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Reads one request (head and Content-Length body). False on EOF, error or after 5 s.
  bool readRequest(ReceivedRequest* request);
  bool write(std::string_view bytes);
  // Reads until at least `bytes` bytes of the connection have arrived (kept for readRequest).
  bool readAtLeast(size_t bytes);
  // Reads and discards until the client closes; true when it did within limit.
  bool waitForClose(std::chrono::milliseconds limit);
  void close();        // FIN (over TLS without close_notify: a cut connection)
  void closeNotify();  // over TLS, close_notify then FIN: an orderly end
  void reset();        // RST (SO_LINGER 0)
  void shutdownForTeardown();
  int index() const { return index_; }  // accept order, from 0
  std::string serverName() const;       // SNI the client sent ("" when none or plain)
  bool resumedSession() const;          // the TLS handshake resumed an earlier session

 private:
  long readSome(char* buffer, size_t size, std::chrono::steady_clock::time_point deadline);
  bool parseBuffered(ReceivedRequest* request, bool* complete);

  std::mutex fd_mutex_;
  int fd_;
  SSL* ssl_;
  int index_;
  std::string buffered_;
  size_t wanted_ = 0;  // buffered bytes a large body's request needs before parsing it again
};

// The text of a whole response: status line, the given header lines, Content-Length, body.
std::string httpResponse(int status, std::string_view body, std::string_view extra_headers = "");

// A 200 answer of exactly `bytes` bytes, head included (at least 64), and its body.
struct SizedAnswer {
  std::string text;
  std::string body;
};
SizedAnswer answerOfSize(size_t bytes);

class TestServer {
 public:
  using Handler = std::function<void(ServerConnection&)>;
  struct Tls {
    std::string cert_file;
    std::string key_file;
    int max_version = 0;  // e.g. TLS1_2_VERSION; 0 = the newest OpenSSL speaks
  };

  explicit TestServer(Handler handler, const Tls* tls = nullptr);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  int openConnections() const { return open_.load(); }
  int maxConcurrent() const { return max_open_.load(); }
  std::vector<std::string> serverNames() const;

  // A handler that answers every request on the connection with a 200 echoing the request
  // target as its body, until the client closes.
  static Handler echoTarget();
  // A provider that answers the first request on its first connection with answer and, right
  // after it, with an answer nobody asked for (body "STRAY"); every other request gets "second".
  static Handler answerThenStray(std::string answer);

 private:
  void acceptLoop();
  void serve(int fd, int index);

  Handler handler_;
  SSL_CTX* ssl_ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
  std::atomic<int> max_open_{0};
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<ServerConnection>> connections_;
  std::vector<std::string> server_names_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace arkroute::http::testing
