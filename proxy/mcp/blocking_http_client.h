// A small blocking HTTP/1.1 client for the `arkroute mcp` stdio bridge: one plain-TCP connection
// per request (Connection: close), response parsed by http-parser, a receive timeout. Not for the
// gateway's event loops (they use proxy/http's non-blocking UpstreamPool).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proxy/http/headers.h"

namespace arkroute::mcp {

struct HttpTarget {
  std::string host;  // without brackets for IPv6
  uint16_t port = 80;
  std::string path;  // "/mcp"
};

// Parses "http://host[:port][/path]"; an empty path or "/" becomes "/mcp". nullopt (and *error)
// for anything else (https:// is not supported by the bridge).
std::optional<HttpTarget> parseHttpTarget(const std::string& url, std::string* error);

struct BlockingResponse {
  int status = 0;  // 0: no (complete) response; see error
  http::Headers headers;
  std::string body;
  std::string error;
};

class BlockingHttpClient {
 public:
  BlockingHttpClient(HttpTarget target, std::chrono::milliseconds timeout)
      : target_(std::move(target)), timeout_(timeout) {}

  // Sends method + target path with the given headers (Host, Content-Length and Connection are
  // added) and body; waits for the whole response.
  BlockingResponse send(const std::string& method, const http::Headers& headers,
                        const std::string& body) const;

 private:
  int connectSocket(std::string* error) const;

  HttpTarget target_;
  std::chrono::milliseconds timeout_;
};

}  // namespace arkroute::mcp
