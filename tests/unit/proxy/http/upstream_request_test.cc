// Request serialisation and response parsing of the upstream client, without sockets.
#include "proxy/http/upstream_request.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "proxy/http/upstream_response.h"

namespace arkroute::http {
namespace {

UpstreamEndpoint endpoint(std::string host, uint16_t port, bool tls) {
  UpstreamEndpoint result;
  result.host = std::move(host);
  result.port = port;
  result.tls = tls;
  return result;
}

TEST(UpstreamRequest, HostHeaderOmitsTheSchemesDefaultPort) {
  EXPECT_EQ(hostHeaderValue(endpoint("api.example.com", 443, true)), "api.example.com");
  EXPECT_EQ(hostHeaderValue(endpoint("api.example.com", 80, false)), "api.example.com");
  EXPECT_EQ(hostHeaderValue(endpoint("api.example.com", 80, true)), "api.example.com:80");
  EXPECT_EQ(hostHeaderValue(endpoint("127.0.0.1", 8080, false)), "127.0.0.1:8080");
  EXPECT_EQ(hostHeaderValue(endpoint("::1", 8443, true)), "[::1]:8443");
}

TEST(UpstreamRequest, HeadCarriesCallerHeadersButThePoolOwnsFraming) {
  OutgoingRequest request;
  request.method = "POST";
  request.path = "/v1/images/generations?x=1";
  request.headers.add("Authorization", "Bearer sk-test");
  request.headers.add("host", "evil.example");
  request.headers.add("Content-Length", "999");
  request.headers.add("Connection", "close");
  request.headers.add("Transfer-Encoding", "chunked");
  request.headers.add("Content-Type", "application/json");
  request.body = R"({"prompt":"a cat"})";
  std::string head = "kept:";
  appendRequestHead(hostHeaderValue(endpoint("api.example.com", 443, true)), request, &head);
  EXPECT_EQ(head,
            "kept:"
            "POST /v1/images/generations?x=1 HTTP/1.1\r\n"
            "Host: api.example.com\r\n"
            "Authorization: Bearer sk-test\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 18\r\n\r\n");
}

struct Buffers {
  std::unique_ptr<evbuffer, decltype(&evbuffer_free)> input{evbuffer_new(), &evbuffer_free};
  std::unique_ptr<evbuffer, decltype(&evbuffer_free)> body{evbuffer_new(), &evbuffer_free};
  void add(std::string_view bytes) { evbuffer_add(input.get(), bytes.data(), bytes.size()); }
  std::string takeBody() {
    std::string text(evbuffer_get_length(body.get()), '\0');
    evbuffer_remove(body.get(), text.data(), text.size());
    return text;
  }
};

constexpr std::string_view kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Id: 7\r\n\r\n"
    "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n";

TEST(UpstreamResponse, ChunkedBodyIsReassembledWhateverTheSplit) {
  for (size_t split = 1; split < kChunked.size(); ++split) {
    ResponseParser parser;
    Buffers buffers;
    std::string body;
    buffers.add(kChunked.substr(0, split));
    ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get())) << split;
    body += buffers.takeBody();
    buffers.add(kChunked.substr(split));
    ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get())) << split;
    body += buffers.takeBody();
    ASSERT_TRUE(parser.complete()) << split;
    EXPECT_EQ(body, "hello world!") << split;
    EXPECT_EQ(parser.status(), 200);
    EXPECT_EQ(parser.headers().get("x-id"), "7");
    EXPECT_TRUE(parser.keepAlive());
    EXPECT_EQ(evbuffer_get_length(buffers.input.get()), 0u);
  }
}

// Debian's http-parser takes any two bytes after a chunk's data as its CRLF; the parser does not,
// wherever the reads split the body, and neither does it take a control byte first in a value.
TEST(UpstreamResponse, AChunkNotFollowedByCrlfOrAControlByteInAValueIsAnError) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const std::string& body :
       {std::string("5\r\nhelloXY0\r\n\r\n"), std::string("5\r\nhello\rX0\r\n\r\n"),
        std::string("5\r\nhello\r\n6\r\nworld!\n\r0\r\n\r\n")}) {
    std::string wire = head + body;
    for (size_t split = 1; split < wire.size(); ++split) {
      ResponseParser parser;
      Buffers buffers;
      buffers.add(wire.substr(0, split));
      bool ok = parser.parse(buffers.input.get(), buffers.body.get());
      if (ok) {
        buffers.add(wire.substr(split));
        ok = parser.parse(buffers.input.get(), buffers.body.get());
      }
      EXPECT_FALSE(ok) << body << " split at " << split;
      EXPECT_NE(parser.error().find("CRLF"), std::string::npos) << parser.error();
    }
  }
  ResponseParser parser;
  Buffers buffers;
  buffers.add(
      "HTTP/1.1 200 OK\r\nX-V: \x01"
      "bad\r\nContent-Length: 0\r\nX: y\r\n\r\n");
  EXPECT_FALSE(parser.parse(buffers.input.get(), buffers.body.get()));
  EXPECT_NE(parser.error().find("control character"), std::string::npos) << parser.error();
}

TEST(UpstreamResponse, InterimResponsesAreSkipped) {
  ResponseParser parser;
  Buffers buffers;
  buffers.add("HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n");
  ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
  EXPECT_FALSE(parser.headComplete());
  buffers.add("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
  EXPECT_TRUE(parser.complete());
  EXPECT_EQ(parser.status(), 201);
  EXPECT_FALSE(parser.headers().has("X-Interim"));
  EXPECT_EQ(buffers.takeBody(), "ok");
}

TEST(UpstreamResponse, SwitchingProtocolsUnaskedIsAnErrorNotAnInterimAnswer) {
  for (std::string_view upgrade : {"Upgrade: x\r\n", "Upgrade: x\r\nConnection: upgrade\r\n"}) {
    ResponseParser parser;
    Buffers buffers;
    buffers.add("HTTP/1.1 101 Switching Protocols\r\n" + std::string(upgrade) +
                "\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nOTHER");
    EXPECT_FALSE(parser.parse(buffers.input.get(), buffers.body.get())) << upgrade;
    EXPECT_NE(parser.error().find("101 Switching Protocols"), std::string::npos) << parser.error();
    EXPECT_FALSE(parser.complete());
    EXPECT_EQ(buffers.takeBody(), "");
  }
}

TEST(UpstreamResponse, StopsAtTheEndOfTheResponseAndLeavesLaterBytes) {
  ResponseParser parser;
  Buffers buffers;
  buffers.add("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA");
  ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
  EXPECT_TRUE(parser.complete());
  EXPECT_EQ(buffers.takeBody(), "abc");
  EXPECT_EQ(evbuffer_get_length(buffers.input.get()), 5u);
}

TEST(UpstreamResponse, ConnectionCloseAndHttp10AreNotKeepAlive) {
  for (std::string_view text :
       {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"}) {
    ResponseParser parser;
    Buffers buffers;
    buffers.add(text);
    ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
    EXPECT_TRUE(parser.complete()) << text;
    EXPECT_FALSE(parser.keepAlive()) << text;
  }
}

TEST(UpstreamResponse, CloseDelimitedBodyEndsAtEof) {
  ResponseParser parser;
  Buffers buffers;
  buffers.add("HTTP/1.1 200 OK\r\n\r\nuntil the end");
  ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
  EXPECT_FALSE(parser.complete());
  parser.finishAtEof();
  EXPECT_TRUE(parser.complete());
  EXPECT_FALSE(parser.keepAlive());
  EXPECT_EQ(buffers.takeBody(), "until the end");
}

TEST(UpstreamResponse, TruncatedLengthBodyDoesNotCompleteAtEof) {
  ResponseParser parser;
  Buffers buffers;
  buffers.add("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
  parser.finishAtEof();
  EXPECT_TRUE(parser.headComplete());
  EXPECT_FALSE(parser.complete());
}

TEST(UpstreamResponse, HeadResponseHasNoBodyWhateverItsLength) {
  ResponseParser parser;
  parser.reset(true);
  Buffers buffers;
  buffers.add("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
  EXPECT_TRUE(parser.complete());
  EXPECT_TRUE(parser.keepAlive());
}

TEST(UpstreamResponse, MalformedResponseIsAnError) {
  ResponseParser parser;
  Buffers buffers;
  buffers.add("SMTP is not HTTP\r\n\r\n");
  EXPECT_FALSE(parser.parse(buffers.input.get(), buffers.body.get()));
  EXPECT_FALSE(parser.error().empty());
}

// What a parse produced, to compare the simple-head fast path (a whole head in one read) with
// http-parser (the same head split across reads, which the fast path never takes).
struct Parsed {
  bool ok = false;
  bool complete = false;
  bool keep_alive = false;
  int status = 0;
  std::string fields;
  std::string body;
  size_t left_over = 0;
  bool operator==(const Parsed&) const = default;
};

Parsed parseInTwo(std::string_view text, size_t split) {
  ResponseParser parser;
  Buffers buffers;
  Parsed result;
  buffers.add(text.substr(0, split));
  result.ok = parser.parse(buffers.input.get(), buffers.body.get());
  result.body += buffers.takeBody();
  buffers.add(text.substr(split));
  result.ok = result.ok && parser.parse(buffers.input.get(), buffers.body.get());
  result.body += buffers.takeBody();
  result.complete = parser.complete();
  result.keep_alive = parser.keepAlive();
  result.status = parser.status();
  for (const auto& [name, value] : parser.headers()) {
    result.fields.append(name).append("=").append(value).append("\n");
  }
  result.left_over = evbuffer_get_length(buffers.input.get());
  if (!result.ok) return Parsed{};  // refused: what was read up to the error does not matter
  return result;
}

TEST(UpstreamResponse, AWholeHeadParsesExactlyAsOneSplitAcrossReads) {
  for (std::string_view text : {
           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11 \r\n"
           "X-Empty:\r\nX-Spaced:  a  b \r\n\r\n{\"data\":[]}NEXT",
           "HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\nx-ratelimit-remaining-requests: 0"
           "\r\nContent-Length: 2\r\n\r\n{}",
           "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: "
           "4\r\n\r\noops",
           "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
       }) {
    size_t head_end = text.find("\r\n\r\n");
    if (head_end == std::string_view::npos) head_end = text.find("\n\n");
    Parsed whole = parseInTwo(text, text.size());
    EXPECT_TRUE(whole.ok && whole.complete) << text;
    for (size_t split = 1; split <= head_end; ++split) {
      ASSERT_EQ(parseInTwo(text, split), whole) << text << " split at " << split;
    }
  }
}

// Random heads built from pieces either parser may treat specially: whatever the fast path takes
// must come out exactly as http-parser reads it (split after the first byte, the fast path never
// sees a whole head). Deterministic: a fixed seed, a bounded count.
TEST(UpstreamResponse, RandomHeadsParseTheSameOnBothPaths) {
  const std::vector<std::string> status_lines = {
      "HTTP/1.1 200 OK",          "HTTP/1.0 200 OK", "HTTP/1.1 429 Too Many Requests",
      "HTTP/1.1 204 No Content",  "HTTP/1.1 503 ",   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
      "HTTP/1.1 304 Not Modified"};
  const std::vector<std::string> fields = {"Content-Type: application/json",
                                           "X-A:  spaced  ",
                                           "x-ratelimit-remaining:7",
                                           "Connection: close",
                                           "Connection: keep-alive",
                                           "Connection: Keep-Alive, x",
                                           "Content-Length: 4",
                                           "Content-Length:4 ",
                                           "Content-Length: 12",
                                           "Transfer-Encoding: chunked",
                                           "X-Obs: caf\xc3\xa9",
                                           "X-Empty:",
                                           "Bad Name: x",
                                           "X-Tab:\tv\t",
                                           "Content-Length: 0"};
  std::mt19937 random(20261201);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  for (int round = 0; round < 3000; ++round) {
    std::string eol = pick(8) == 0 ? "\n" : "\r\n";
    std::string text = status_lines[pick(status_lines.size())] + eol;
    for (size_t i = pick(6); i > 0; --i) text += fields[pick(fields.size())] + eol;
    text += eol + std::string("0123456789abcdefghij").substr(0, pick(21));
    Parsed whole = parseInTwo(text, text.size());
    ASSERT_EQ(parseInTwo(text, 1), whole) << round << ": " << text;
  }
}

TEST(UpstreamResponse, LargeBodyChainsMoveIntact) {
  std::string payload(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  ResponseParser parser;
  Buffers buffers;
  buffers.add("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(payload.size()) + "\r\n\r\n");
  std::string body;
  for (size_t offset = 0; offset < payload.size(); offset += 256 * 1024) {
    buffers.add(std::string_view(payload).substr(offset, 256 * 1024));
    ASSERT_TRUE(parser.parse(buffers.input.get(), buffers.body.get()));
    body += buffers.takeBody();
  }
  EXPECT_TRUE(parser.complete());
  EXPECT_TRUE(body == payload);
}

}  // namespace
}  // namespace arkroute::http
