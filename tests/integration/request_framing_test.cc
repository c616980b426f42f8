// Integration: requests whose framing a provider could read differently than the gateway are
// refused with 400 and never reach the provider (http-parser alone accepts a space in a header
// name, such as "Transfer-Encoding : chunked"); every RFC 9110 token character stays allowed.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

const std::string kBody = R"({"model":"gpt-image-1","prompt":"framing","response_format":"url"})";

std::string exchange(uint16_t port, const std::string& wire) {
  int fd = connectLoopback(port);
  EXPECT_GE(fd, 0);
  send(fd, wire.data(), wire.size(), MSG_NOSIGNAL);
  std::string answer = readUntilClosed(fd, 5s);
  close(fd);
  return answer;
}

std::string chunked(const std::string& body) {
  char size[16];
  snprintf(size, sizeof size, "%zx\r\n", body.size());
  return size + body + "\r\n0\r\n\r\n";
}

TEST(RequestFraming, HeaderNamesWithWhitespaceAreRefusedAndNeverForwarded) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  const std::string head =
      "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  const std::string cases[] = {
      head + "Transfer-Encoding : chunked\r\n\r\n" + chunked(kBody),
      head + "Content-Length : " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody,
      head + "X Smuggle: 1\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody,
      head + "X-Tab\t: 1\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody,
  };
  for (const std::string& wire : cases) {
    std::string answer = exchange(gateway.port(), wire);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << wire << "\n---\n" << answer;
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << answer;
    EXPECT_NE(answer.find("Malformed HTTP request"), std::string::npos) << answer;
  }
  EXPECT_EQ(sim.requests(), 0);
}

// RFC 9112: an HTTP/1.1 request without exactly one Host is a 400 (3.2), and a transfer coding
// other than chunked alone a 501 (6.1): http-parser reads "gzip, chunked" as chunked, and the
// body would go on as if plain. Neither reaches the provider; HTTP/1.0 needs no Host.
TEST(RequestFraming, NoOrTwoHostsAre400AndOtherTransferCodings501) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  const std::string line = "POST /v1/images/generations HTTP/1.1\r\nConnection: close\r\n";
  const std::string length = "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n";
  for (const std::string& wire :
       {line + length + kBody, line + "Host: a\r\nHost: b\r\n" + length + kBody}) {
    std::string answer = exchange(gateway.port(), wire);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
    EXPECT_NE(answer.find("needs exactly one Host header"), std::string::npos) << answer;
  }
  for (const char* coding : {"gzip, chunked", "gzip", "chunked, chunked"}) {
    std::string answer = exchange(gateway.port(), line + "Host: x\r\nTransfer-Encoding: " + coding +
                                                      "\r\n\r\n" + chunked(kBody));
    EXPECT_EQ(answer.rfind("HTTP/1.1 501 Not Implemented", 0), 0u) << coding << ": " << answer;
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << answer;
  }
  EXPECT_EQ(sim.requests(), 0);
  std::string old =
      exchange(gateway.port(), "POST /v1/images/generations HTTP/1.0\r\n" + length + kBody);
  EXPECT_EQ(old.rfind("HTTP/1.1 200 ", 0), 0u) << old;
}

// RFC 9112 3.2.2: a server accepts a target in absolute form (what a client configured to use the
// gateway as a proxy sends); its path and query route the request as the origin form would.
TEST(RequestFraming, AnAbsoluteFormTargetIsRoutedByItsPath) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  for (const char* target : {"http://gw.example/v1/models", "HTTP://gw.example:8080/healthz?x=1",
                             "https://gw.example/v1/models"}) {
    std::string answer =
        exchange(gateway.port(), std::string("GET ") + target +
                                     " HTTP/1.1\r\nHost: gw.example\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 ", 0), 0u) << target << ": " << answer;
  }
  std::string post =
      exchange(gateway.port(),
               "POST http://gw.example/v1/images/generations HTTP/1.1\r\nHost: gw.example\r\n"
               "Connection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(kBody.size()) + "\r\n\r\n" + kBody);
  EXPECT_EQ(post.rfind("HTTP/1.1 200 ", 0), 0u) << post;
  EXPECT_EQ(sim.requests(), 1);
}

// What Debian's http-parser lets through with its strict checks off: any two bytes after a
// chunk's data (in one write or split where the CRLF should be), a version other than HTTP/1.x
// ("HTTX/1.1" reads as 1.1), a tab in the target, a control byte first in a value. Each is
// refused and never forwarded.
TEST(RequestFraming, WhatTheLenientParserWouldLetThroughIsRefused) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  const std::string post =
      "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  std::string junk_after_data = chunked(kBody);
  junk_after_data.replace(junk_after_data.find("\r\n0\r\n"), 2, "XX");
  const std::string length = "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n";
  struct Case {
    std::string wire;
    int status;
    std::string says;
  };
  const Case cases[] = {
      {post + "Transfer-Encoding: chunked\r\n\r\n" + junk_after_data, 400, "CRLF"},
      {"GET /healthz HTTX/1.1\r\nHost: x\r\n\r\n", 400, "HTTP/1.0 or HTTP/1.1"},
      {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, "version 2.0"},
      {"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505, "version 9.9"},
      {"GET /heal\tthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "control character"},
      {post + "X-V: " + std::string(1, '\x01') + "abc\r\n" + length + kBody, 400,
       "control character"},
      {post + "X-V: " + std::string(1, '\0') + "abc\r\n" + length + kBody, 400,
       "control character"},
  };
  for (const Case& c : cases) {
    std::string answer = exchange(gateway.port(), c.wire);
    EXPECT_EQ(answer.rfind("HTTP/1.1 " + std::to_string(c.status) + " ", 0), 0u) << answer;
    EXPECT_NE(answer.find(c.says), std::string::npos) << answer;
  }
  // An empty line before the request line is skipped (RFC 9112 2.2), as the fast path skips it.
  std::string leading = exchange(
      gateway.port(), "\r\n" + post + "Transfer-Encoding: chunked\r\n\r\n" + chunked(kBody));
  EXPECT_EQ(leading.rfind("HTTP/1.1 200 ", 0), 0u) << leading;
  int fd = connectLoopback(gateway.port());  // the bad CRLF in the next read
  ASSERT_GE(fd, 0);
  std::string split = post + "Transfer-Encoding: chunked\r\n\r\n" + junk_after_data;
  size_t at = split.find("XX0");
  send(fd, split.data(), at, MSG_NOSIGNAL);
  std::this_thread::sleep_for(100ms);
  send(fd, split.data() + at, split.size() - at, MSG_NOSIGNAL);
  std::string answer = readUntilClosed(fd, 5s);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
  EXPECT_EQ(sim.requests(), 1) << "only the request with an empty line first";
}

// A method the gateway does not know is 501 (RFC 9110 9.1), and a chunk whose size alone passes
// max_body_bytes is a 413 as soon as the size is read, not after request_timeout.
TEST(RequestFraming, AnUnknownMethodIs501AndAnOversizedChunkIs413AtOnce) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  std::string unknown = exchange(gateway.port(), "FOO /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(unknown.rfind("HTTP/1.1 501 ", 0), 0u) << unknown;
  auto started = std::chrono::steady_clock::now();
  std::string huge = exchange(gateway.port(),
                              "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nabc");
  EXPECT_EQ(huge.rfind("HTTP/1.1 413 ", 0), 0u) << huge;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << "answered when the size was read";
  EXPECT_EQ(sim.requests(), 0);
}

TEST(RequestFraming, EveryTokenCharacterIsAllowedInAName) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  std::string answer =
      exchange(gateway.port(),
               "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "X-Az09!#$%&'*+-.^_`|~: kept\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   chunked(kBody));
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 ", 0), 0u) << answer;
  EXPECT_EQ(sim.requests(), 1);
}

// A whole simple request is read without http-parser (the fast path); a chunked one, or one whose
// head arrives in pieces, with it. One keep-alive connection mixing them must answer each, in
// order: the two parsers hand over at every message boundary.
TEST(RequestFraming, PipelinedRequestsMixingBothParsersAreEachAnswered) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  const std::string head = "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n";
  const std::string simple =
      head + "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
  const std::string chunked_request = head + "Transfer-Encoding: chunked\r\n\r\n" + chunked(kBody);
  const std::string last = head +
                           "Connection: close\r\nContent-Length: " + std::to_string(kBody.size()) +
                           "\r\n\r\n" + kBody;
  int fd = connectLoopback(gateway.port());
  ASSERT_GE(fd, 0);
  // Simple, chunked, simple, then a whole head whose body arrives later and a head in two writes
  // (both leave the fast path for http-parser), then two more.
  const size_t body_split = simple.size() - 10;
  const std::string writes[] = {
      simple + chunked_request + simple.substr(0, body_split),
      simple.substr(body_split) + simple.substr(0, 20),
      simple.substr(20) + simple + last,
  };
  for (const std::string& bytes : writes) {
    send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(100ms);
  }
  std::string answer = readUntilClosed(fd, 10s);
  close(fd);
  size_t answers = 0;
  for (size_t at = answer.find("HTTP/1.1 "); at != std::string::npos;
       at = answer.find("HTTP/1.1 ", at + 1)) {
    EXPECT_EQ(answer.compare(at, 13, "HTTP/1.1 200 "), 0) << answer.substr(at, 200);
    ++answers;
  }
  EXPECT_EQ(answers, 6u) << answer;
  EXPECT_EQ(sim.requests(), 6);
}

}  // namespace
}  // namespace arkroute::testing
