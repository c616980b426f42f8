// A blocking HTTP/1.1 client for tests (one connection per call, response parsed by http-parser).
#include <arpa/inet.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "integration/harness.h"

namespace arkroute::testing {

namespace {

struct ParseState {
  HttpResponse* response;
  const HttpCall* call;
  std::string field;
  bool in_value = false;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int onHeaderField(http_parser* p, const char* at, size_t len) {
  auto* s = static_cast<ParseState*>(p->data);
  if (s->in_value) s->field.clear();
  s->in_value = false;
  s->field.append(at, len);
  return 0;
}

int onHeaderValue(http_parser* p, const char* at, size_t len) {
  auto* s = static_cast<ParseState*>(p->data);
  s->in_value = true;
  s->response->headers[lower(s->field)].append(at, len);
  return 0;
}

int onHeadersComplete(http_parser* p) {
  static_cast<ParseState*>(p->data)->response->status = p->status_code;
  return 0;
}

int onBody(http_parser* p, const char* at, size_t len) {
  auto* s = static_cast<ParseState*>(p->data);
  s->response->body.append(at, len);
  if (s->call->on_body) s->call->on_body(std::string(at, len));
  return 0;
}

int onComplete(http_parser* p) {
  static_cast<ParseState*>(p->data)->response->complete = true;
  return 0;
}

std::string serialize(const HttpCall& call) {
  std::string out = call.method + " " + call.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_length = false;
  for (const auto& [name, value] : call.headers) {
    out += name + ": " + value + "\r\n";
    if (lower(name) == "content-length") has_length = true;
  }
  if (!has_length && (!call.body.empty() || call.method == "POST")) {
    out += "Content-Length: " + std::to_string(call.body.size()) + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  return out + call.body;
}

}  // namespace

int connectLoopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string readUntilClosed(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return out + (n == 0 ? "<EOF>" : "<ERR>");
    out.append(buffer, size_t(n));
  }
  return out;
}

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse httpRequest(uint16_t port, const HttpCall& call) {
  HttpResponse response;
  int fd = connectLoopback(port);
  if (fd < 0) {
    response.error = std::string("connect: ") + std::strerror(errno);
    return response;
  }
  std::string wire = serialize(call);
  if (send(fd, wire.data(), wire.size(), MSG_NOSIGNAL) != ssize_t(wire.size())) {
    response.error = "short send";
  }
  http_parser_settings settings{};
  settings.on_header_field = onHeaderField;
  settings.on_header_value = onHeaderValue;
  settings.on_headers_complete = onHeadersComplete;
  settings.on_body = onBody;
  settings.on_message_complete = onComplete;
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  ParseState state{&response, &call};
  parser.data = &state;
  auto deadline = std::chrono::steady_clock::now() + call.timeout;
  char buf[65536];
  while (!response.complete) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, int(left.count())) <= 0) {
      response.error = "timeout";
      break;
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      response.error = std::string("recv: ") + std::strerror(errno);
      break;
    }
    http_parser_execute(&parser, &settings, buf, size_t(n));
    if (n == 0) break;
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
      response.error = http_errno_name(HTTP_PARSER_ERRNO(&parser));
      break;
    }
  }
  if (!response.complete && response.error.empty()) response.error = "connection closed early";
  close(fd);
  return response;
}

HttpResponse httpGet(uint16_t port, const std::string& path) {
  HttpCall call;
  call.path = path;
  return httpRequest(port, call);
}

HttpResponse httpPostJson(uint16_t port, const std::string& path, const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers) {
  HttpCall call;
  call.method = "POST";
  call.path = path;
  call.body = body;
  call.headers = std::move(headers);
  call.headers.emplace_back("Content-Type", "application/json");
  return httpRequest(port, call);
}

std::string base64Decode(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
  if (n < 0) return {};
  size_t padding = 0;
  if (!text.empty() && text.back() == '=')
    padding = text.size() > 1 && text[text.size() - 2] == '=' ? 2 : 1;
  out.resize(size_t(n) - padding);
  return out;
}

bool looksLikePng(const std::string& bytes) {
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  return bytes.size() > 33 && bytes.compare(0, 8, kSignature, 8) == 0 &&
         bytes.compare(12, 4, "IHDR") == 0;
}

int sendGenerationAndStay(uint16_t port, const std::string& body, const std::string& headers) {
  int fd = connectLoopback(port);
  if (fd < 0) return -1;
  std::string wire =
      "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n" + headers +
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
  return fd;
}

}  // namespace arkroute::testing
