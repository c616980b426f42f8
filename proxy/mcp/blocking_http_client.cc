// Blocking request/response over one TCP connection, parsed by http-parser.
#include "proxy/mcp/blocking_http_client.h"

#include <http_parser.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arkroute::mcp {

namespace {

struct ParseState {
  BlockingResponse* response;
  std::string field;
  bool in_value = false;
  bool complete = false;
};

http_parser_settings parserSettings() {
  http_parser_settings settings{};
  settings.on_header_field = [](http_parser* p, const char* at, size_t length) {
    auto* state = static_cast<ParseState*>(p->data);
    if (state->in_value) state->field.clear();
    state->in_value = false;
    state->field.append(at, length);
    return 0;
  };
  settings.on_header_value = [](http_parser* p, const char* at, size_t length) {
    auto* state = static_cast<ParseState*>(p->data);
    if (state->in_value) {
      state->response->headers.appendToLastValue(std::string_view(at, length));
    } else {
      state->response->headers.add(state->field, std::string(at, length));
      state->in_value = true;
    }
    return 0;
  };
  settings.on_headers_complete = [](http_parser* p) {
    static_cast<ParseState*>(p->data)->response->status = p->status_code;
    return 0;
  };
  settings.on_body = [](http_parser* p, const char* at, size_t length) {
    static_cast<ParseState*>(p->data)->response->body.append(at, length);
    return 0;
  };
  settings.on_message_complete = [](http_parser* p) {
    static_cast<ParseState*>(p->data)->complete = true;
    return 0;
  };
  return settings;
}

bool sendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::optional<HttpTarget> parseHttpTarget(const std::string& url, std::string* error) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    *error = "the URL must start with http:// (got '" + url + "')";
    return std::nullopt;
  }
  std::string rest = url.substr(scheme.size());
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  HttpTarget target;
  target.path = slash == std::string::npos ? "" : rest.substr(slash);
  if (target.path.empty() || target.path == "/") target.path = "/mcp";
  std::string port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) {
      *error = "unterminated IPv6 address in '" + url + "'";
      return std::nullopt;
    }
    target.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port_text = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    target.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (!port_text.empty()) {
    char* end = nullptr;
    unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
    if (*end != '\0' || port == 0 || port > 65535) {
      *error = "bad port in '" + url + "'";
      return std::nullopt;
    }
    target.port = static_cast<uint16_t>(port);
  }
  if (target.host.empty()) {
    *error = "no host in '" + url + "'";
    return std::nullopt;
  }
  return target;
}

int BlockingHttpClient::connectSocket(std::string* error) const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(target_.port);
  int rc = getaddrinfo(target_.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    *error = "cannot resolve " + target_.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = found; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      *error = "cannot connect to " + target_.host + ":" + port + ": " + std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  return fd;
}

BlockingResponse BlockingHttpClient::send(const std::string& method, const http::Headers& headers,
                                          const std::string& body) const {
  BlockingResponse response;
  int fd = connectSocket(&response.error);
  if (fd < 0) return response;
  bool v6 = target_.host.find(':') != std::string::npos;
  std::string wire = method + " " + target_.path +
                     " HTTP/1.1\r\nHost: " + (v6 ? "[" + target_.host + "]" : target_.host) + ":" +
                     std::to_string(target_.port) + "\r\n";
  for (const auto& [name, value] : headers)
    wire.append(name).append(": ").append(value).append("\r\n");
  wire += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  wire += body;
  if (!sendAll(fd, wire)) {
    response.error = std::string("send failed: ") + std::strerror(errno);
    close(fd);
    return response;
  }
  http_parser_settings settings = parserSettings();
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  ParseState state{&response};
  parser.data = &state;
  char buffer[65536];
  while (!state.complete) {
    pollfd pfd{fd, POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(timeout_.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      response.error = "timed out waiting for the gateway";
      break;
    }
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      response.error = std::string("receive failed: ") + std::strerror(errno);
      break;
    }
    http_parser_execute(&parser, &settings, buffer, static_cast<size_t>(n));
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK) {
      response.error =
          std::string("bad HTTP response: ") + http_errno_name(HTTP_PARSER_ERRNO(&parser));
      break;
    }
    if (n == 0) break;
  }
  close(fd);
  if (!state.complete) {
    if (response.error.empty()) response.error = "the gateway closed the connection early";
    response.status = 0;
  }
  return response;
}

}  // namespace arkroute::mcp
