// The simple-head fast path: which heads it takes, what it reads from them, and which it leaves to
// http-parser.
#include "proxy/http/simple_head.h"

#include <gtest/gtest.h>
#include <http_parser.h>

#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace arkroute::http {
namespace {

constexpr size_t kLimit = 16 * 1024;

using HeadParser = bool (*)(std::string_view, size_t, SimpleHead*, Headers*);

// Each text is declined, and leaves no field behind for http-parser to trip over.
void expectDeclined(HeadParser parse, std::initializer_list<std::string_view> texts) {
  for (std::string_view text : texts) {
    SimpleHead head;
    Headers headers;
    EXPECT_FALSE(parse(text, kLimit, &head, &headers)) << text;
    EXPECT_TRUE(headers.empty()) << text;
  }
}

TEST(SimpleHead, TakesAPlainResponseWithItsFieldsInOrder) {
  std::string text =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12  \r\n"
      "x-ratelimit-remaining: 9\r\n\r\n{\"data\":[1]}";
  SimpleHead head;
  Headers headers;
  ASSERT_TRUE(parseSimpleResponseHead(text, kLimit, &head, &headers));
  EXPECT_EQ(head.head_bytes, text.size() - 12);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_TRUE(head.keep_alive);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ((*headers.begin()).first, "Content-Type");
  EXPECT_EQ(headers.get("x-ratelimit-remaining"), "9");
}

TEST(SimpleHead, ResponseKeepAliveFollowsVersionAndConnection) {
  SimpleHead head;
  Headers headers;
  ASSERT_TRUE(parseSimpleResponseHead(
      "HTTP/1.1 429 Too Many\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", kLimit, &head,
      &headers));
  EXPECT_EQ(head.status, 429);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_TRUE(parseSimpleResponseHead(
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", kLimit, &head,
      &headers));
  EXPECT_FALSE(head.keep_alive);  // the gateway reuses HTTP/1.1 connections only
}

TEST(SimpleHead, LeavesEveryOtherResponseToHttpParser) {
  expectDeclined(parseSimpleResponseHead,
                 {
                     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",  // incomplete
                     "HTTP/1.1 200 OK\r\n\r\nclose-delimited",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
                     "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello",
                     "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
                     "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello",
                     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: a\r\n folded\r\n\r\nhello",
                     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close, x\r\n\r\nhello",
                     "HTTP/1.1 100 Continue\r\n\r\n",
                     "HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n",
                     "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
                     "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",
                     "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
                     "SMTP is not HTTP\r\n\r\n",
                 });
}

TEST(SimpleHead, AHeadLongerThanTheLimitIsNotTaken) {
  std::string text =
      "HTTP/1.1 200 OK\r\nX: " + std::string(200, 'a') + "\r\nContent-Length: 0\r\n\r\n";
  SimpleHead head;
  Headers headers;
  EXPECT_FALSE(parseSimpleResponseHead(text, 100, &head, &headers));
  EXPECT_TRUE(parseSimpleResponseHead(text, text.size(), &head, &headers));
}

// The fast path relies on picohttpparser to refuse names that are not tokens (a space before the
// colon, a quote, a control byte): each such byte in a name, of a response or a request, is
// declined, so http-parser's path (which refuses the request with 400, or drops the provider's
// field) handles it.
TEST(SimpleHead, EveryNameThatIsNotATokenIsDeclined) {
  for (int c = 1; c < 256; ++c) {
    if (c == '\r' || c == '\n' || c == ':') continue;
    std::string name = std::string("X") + static_cast<char>(c) + "Y";
    if (isFieldNameText(name)) continue;
    SimpleHead head;
    Headers headers;
    EXPECT_FALSE(parseSimpleResponseHead(
        "HTTP/1.1 200 OK\r\n" + name + ": 1\r\nContent-Length: 0\r\n\r\n", kLimit, &head, &headers))
        << "byte " << c;
    EXPECT_FALSE(parseSimpleRequestHead("GET / HTTP/1.1\r\n" + name + ": 1\r\n\r\n", kLimit, &head,
                                        &headers))
        << "byte " << c;
  }
}

TEST(SimpleHead, TakesAPlainRequestAndItsTarget) {
  std::string text =
      "POST /v1/images/generations?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}";
  SimpleHead head;
  Headers headers;
  ASSERT_TRUE(parseSimpleRequestHead(text, kLimit, &head, &headers));
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.target, "/v1/images/generations?x=1");
  EXPECT_EQ(head.head_bytes, text.size() - 2);
  EXPECT_TRUE(head.has_content_length);
  EXPECT_EQ(head.content_length, 2u);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(headers.get("host"), "gw");
  ASSERT_TRUE(parseSimpleRequestHead("GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n", kLimit, &head,
                                     &headers));
  EXPECT_FALSE(head.has_content_length);
  EXPECT_EQ(headers.size(), 1u);
}

TEST(SimpleHead, RequestKeepAliveFollowsHttp10Rules) {
  SimpleHead head;
  Headers headers;
  ASSERT_TRUE(parseSimpleRequestHead("GET / HTTP/1.0\r\n\r\n", kLimit, &head, &headers));
  EXPECT_FALSE(head.keep_alive);
  ASSERT_TRUE(parseSimpleRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", kLimit,
                                     &head, &headers));
  EXPECT_TRUE(head.keep_alive);
  ASSERT_TRUE(parseSimpleRequestHead("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                                     kLimit, &head, &headers));
  EXPECT_FALSE(head.keep_alive);
}

TEST(SimpleHead, LeavesEveryOtherRequestToHttpParser) {
  expectDeclined(parseSimpleRequestHead,
                 {
                     "POST / HTTP/1.1\r\nContent-Length: 2\r\n",      // incomplete
                     "GET / HTTP/1.1\r\n\r\n",                        // no Host: a 400 there
                     "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two: the same
                     "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                     "POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                     "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                     "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
                     "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                     "GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
                     "G@T / HTTP/1.1\r\n\r\n",
                     "BREW / HTTP/1.1\r\n\r\n",
                     "GET /a\x01 HTTP/1.1\r\n\r\n",
                     "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
                 });
}

// What http-parser reads from a whole request, for comparison with the fast path.
struct HttpParserView {
  bool ok = false;
  bool complete = false;
  std::string method;
  std::string target;
  std::string fields;
  int minor = 0;
  bool has_length = false;
  uint64_t length = 0;
  bool keep_alive = false;
  std::string field;  // the field whose value is being read
};

HttpParserView readWithHttpParser(std::string_view text) {
  HttpParserView view;
  http_parser_settings settings{};
  settings.on_url = [](http_parser* p, const char* at, size_t n) {
    static_cast<HttpParserView*>(p->data)->target.append(at, n);
    return 0;
  };
  settings.on_header_field = [](http_parser* p, const char* at, size_t n) {
    static_cast<HttpParserView*>(p->data)->field.assign(at, n);
    return 0;
  };
  settings.on_header_value = [](http_parser* p, const char* at, size_t n) {
    auto* v = static_cast<HttpParserView*>(p->data);
    v->fields.append(v->field).append("=").append(at, n).append("\n");
    return 0;
  };
  settings.on_headers_complete = [](http_parser* p) {
    auto* v = static_cast<HttpParserView*>(p->data);
    v->method = http_method_str(static_cast<http_method>(p->method));
    v->minor = p->http_minor;
    v->has_length = (p->flags & F_CONTENTLENGTH) != 0;
    v->length = p->content_length;
    return 0;
  };
  settings.on_message_complete = [](http_parser* p) {
    auto* v = static_cast<HttpParserView*>(p->data);
    v->complete = true;
    v->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
  };
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &view;
  http_parser_execute(&parser, &settings, text.data(), text.size());
  http_errno error = HTTP_PARSER_ERRNO(&parser);
  view.ok = error == HPE_OK || error == HPE_PAUSED;
  return view;
}

// Random requests built from pieces either parser may treat specially: every one the fast path
// takes, http-parser takes too, and reads the same way (a request the two read differently could
// be smuggled past the gateway's checks). Deterministic: a fixed seed, a bounded count.
TEST(SimpleHead, RandomRequestsTakenAreReadAsHttpParserReadsThem) {
  const std::vector<std::string> request_lines = {"POST /v1/images/generations HTTP/1.1",
                                                  "GET /v1/models?x=1 HTTP/1.0",
                                                  "HEAD / HTTP/1.1",
                                                  "PATCH /x HTTP/1.1",
                                                  "BREW / HTTP/1.1",
                                                  "GET  / HTTP/1.1",
                                                  "GET / HTTP/1.2",
                                                  "get / HTTP/1.1",
                                                  "OPTIONS * HTTP/1.1",
                                                  "GET http://h/p HTTP/1.1",
                                                  "DELETE /a%20b HTTP/1.1"};
  const std::vector<std::string> fields = {"Host: a",
                                           "Content-Type: application/json",
                                           "X-A:  spaced  ",
                                           "Connection: close",
                                           "Connection: keep-alive",
                                           "Connection: Keep-Alive, x",
                                           "Content-Length: 2",
                                           "Content-Length:2 ",
                                           "Content-Length: 99999999999999999999",
                                           "Content-Length: 0",
                                           "Transfer-Encoding: chunked",
                                           "Expect: 100-continue",
                                           "Upgrade: h2c",
                                           "X-Obs: caf\xc3\xa9",
                                           "X-Empty:",
                                           "Bad Name: x",
                                           "X-Tab:\tv\t",
                                           "Authorization: Bearer sk-x"};
  std::mt19937 random(20261201);
  auto pick = [&](size_t n) { return static_cast<size_t>(random() % n); };
  int taken = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string eol = pick(8) == 0 ? "\n" : "\r\n";
    std::string text = request_lines[pick(request_lines.size())] + eol;
    if (pick(4) != 0) text += "Host: a" + eol;  // without one, an HTTP/1.1 request is declined
    for (size_t i = pick(6); i > 0; --i) text += fields[pick(fields.size())] + eol;
    text += eol + std::string("{}{}{}").substr(0, pick(7));
    SimpleHead head;
    Headers headers;
    if (!parseSimpleRequestHead(text, kLimit, &head, &headers)) continue;
    ++taken;
    HttpParserView view = readWithHttpParser(text);
    ASSERT_TRUE(view.ok) << round << ": " << text;
    EXPECT_EQ(head.method, view.method) << text;
    EXPECT_EQ(head.target, view.target) << text;
    std::string fast_fields;
    for (const auto& [name, value] : headers) {
      fast_fields.append(name).append("=").append(value).append("\n");
    }
    EXPECT_EQ(fast_fields, view.fields) << text;
    EXPECT_EQ(head.version_minor, view.minor) << text;
    EXPECT_EQ(head.has_content_length, view.has_length) << text;
    if (head.has_content_length) {
      EXPECT_EQ(head.content_length, view.length) << text;
    }
    if (view.complete) {
      EXPECT_EQ(head.keep_alive, view.keep_alive) << text;
    }
  }
  EXPECT_GT(taken, 300) << "the generator must exercise the fast path";
}

}  // namespace
}  // namespace arkroute::http
