// Client-side helpers for the upstream client tests (see upstream_test_support.h).
#include "unit/proxy/http/upstream_test_support.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/dns_struct.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace arkroute::http::testing {

namespace {

// Writing to a socket the peer closed raises SIGPIPE; the gateway ignores it in main() too.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

uint16_t boundPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

int bindLoopback(int type) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot bind a loopback socket");
  }
  return fd;
}

}  // namespace

EventLoop::EventLoop() {
  (void)kSigpipeIgnored;
  base_ = event_base_new();
  dns_ = evdns_base_new(base_, 0);
  ticker_ = event_new(
      base_, -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr);
  timeval every{0, 5000};
  event_add(ticker_, &every);
}

EventLoop::~EventLoop() {
  event_free(ticker_);
  evdns_base_free(dns_, 1);  // fails pending lookups so their bufferevents are released
  event_base_loop(base_, EVLOOP_NONBLOCK);
  event_base_free(base_);
}

void EventLoop::useNameserver(uint16_t port) {
  std::string address = "127.0.0.1:" + std::to_string(port);
  evdns_base_nameserver_ip_add(dns_, address.c_str());
}

bool EventLoop::runUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    event_base_loop(base_, EVLOOP_ONCE);
  }
  return done();
}

void EventLoop::runFor(std::chrono::milliseconds duration) {
  runUntil([] { return false; }, duration);
}

void RecordingHandler::onUpstreamHead(int new_status, const Headers& new_headers) {
  if (finished()) ++callbacks_after_end;
  ++heads;
  status = new_status;
  headers = new_headers;
  if (on_head) on_head();
}

void RecordingHandler::onUpstreamBody(evbuffer* data) {
  if (finished()) ++callbacks_after_end;
  ++body_calls;
  size_t length = evbuffer_get_length(data);
  size_t old_size = body.size();
  body.resize(old_size + length);
  evbuffer_remove(data, body.data() + old_size, length);
  if (on_body) on_body();
}

void RecordingHandler::onUpstreamComplete() {
  if (finished()) ++callbacks_after_end;
  completed = true;
  if (on_complete) on_complete();
}

void RecordingHandler::onUpstreamError(const UpstreamError& new_error) {
  if (finished()) ++callbacks_after_end;
  error = new_error;
  if (on_error) on_error();
}

FakeDns::FakeDns(event_base* base, std::map<std::string, std::string> ipv4_by_name)
    : ipv4_by_name_(std::move(ipv4_by_name)) {
  fd_ = bindLoopback(SOCK_DGRAM);
  evutil_make_socket_nonblocking(fd_);
  port_ = boundPort(fd_);
  server_ = evdns_add_server_port_with_base(base, fd_, 0, &FakeDns::onRequest, this);
}

FakeDns::~FakeDns() {
  evdns_close_server_port(server_);
  ::close(fd_);
}

void FakeDns::onRequest(evdns_server_request* request, void* arg) {
  auto* self = static_cast<FakeDns*>(arg);
  int code = 0;
  for (int i = 0; i < request->nquestions; ++i) {
    const evdns_server_question* question = request->questions[i];
    auto found = self->ipv4_by_name_.end();
    for (auto it = self->ipv4_by_name_.begin(); it != self->ipv4_by_name_.end(); ++it) {
      if (strcasecmp(it->first.c_str(), question->name) == 0) found = it;
    }
    if (found == self->ipv4_by_name_.end()) {
      code = DNS_ERR_NOTEXIST;
    } else if (question->type == EVDNS_TYPE_A) {
      in_addr address{};
      inet_pton(AF_INET, found->second.c_str(), &address);
      evdns_server_request_add_a_reply(request, question->name, 1, &address.s_addr, 60);
    }
  }
  evdns_server_request_respond(request, code);
}

SilentUdpPort::SilentUdpPort() {
  fd_ = bindLoopback(SOCK_DGRAM);
  port_ = boundPort(fd_);
}

SilentUdpPort::~SilentUdpPort() {
  ::close(fd_);
}

namespace {

struct CertDirectory {
  std::filesystem::path dir;
  TestCerts certs;
  ~CertDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

void run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("test certificates: failed: " + command);
  }
}

void makeLeaf(const std::filesystem::path& dir, const std::string& name, const std::string& san) {
  std::string base = (dir / name).string();
  std::ofstream(base + ".ext") << "subjectAltName=" << san << "\n";
  run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
      " -keyout " + base + ".key -out " + base + ".csr");
  run("openssl x509 -req -days 2 -in " + base + ".csr -CA " + (dir / "ca.pem").string() +
      " -CAkey " + (dir / "ca.key").string() + " -CAcreateserial -extfile " + base + ".ext -out " +
      base + ".pem");
}

}  // namespace

const TestCerts& testCerts() {
  static CertDirectory made;
  static const bool generated = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "arkroute-tls-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    made.dir = pattern;
    std::string ca = (made.dir / "ca").string();
    run("openssl req -x509 -days 2 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-subj /CN=ArkRouteTestCA -keyout " +
        ca + ".key -out " + ca + ".pem");
    makeLeaf(made.dir, "localhost", "DNS:localhost,IP:127.0.0.1");
    makeLeaf(made.dir, "other.example", "DNS:other.example");
    made.certs = {ca + ".pem", (made.dir / "localhost.pem").string(),
                  (made.dir / "localhost.key").string(), (made.dir / "other.example.pem").string(),
                  (made.dir / "other.example.key").string()};
    return true;
  }();
  (void)generated;
  return made.certs;
}

uint16_t unusedPort() {
  int fd = bindLoopback(SOCK_STREAM);
  uint16_t port = boundPort(fd);
  ::close(fd);  // nothing listens there now: connecting is refused
  return port;
}

UpstreamEndpoint endpointFor(uint16_t port, std::string host) {
  UpstreamEndpoint endpoint;
  endpoint.name = "test";
  endpoint.host = std::move(host);
  endpoint.port = port;
  return endpoint;
}

OutgoingRequest requestFor(std::string path, std::string method, std::string body) {
  OutgoingRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.body = std::move(body);
  return request;
}

}  // namespace arkroute::http::testing
