// The simple-head fast path: which heads it takes, what it reads from them, and which it leaves to
// http-parser.
#include "proxy/http/simple_head.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

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
  ASSERT_TRUE(parseSimpleRequestHead("GET /v1/models HTTP/1.1\r\n\r\n", kLimit, &head, &headers));
  EXPECT_FALSE(head.has_content_length);
  EXPECT_TRUE(headers.empty());
}

TEST(SimpleHead, RequestKeepAliveFollowsHttp10Rules) {
  SimpleHead head;
  Headers headers;
  ASSERT_TRUE(parseSimpleRequestHead("GET / HTTP/1.0\r\n\r\n", kLimit, &head, &headers));
  EXPECT_FALSE(head.keep_alive);
  ASSERT_TRUE(parseSimpleRequestHead("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", kLimit,
                                     &head, &headers));
  EXPECT_TRUE(head.keep_alive);
  ASSERT_TRUE(parseSimpleRequestHead("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", kLimit, &head,
                                     &headers));
  EXPECT_FALSE(head.keep_alive);
}

TEST(SimpleHead, LeavesEveryOtherRequestToHttpParser) {
  expectDeclined(parseSimpleRequestHead,
                 {
                     "POST / HTTP/1.1\r\nContent-Length: 2\r\n",  // incomplete
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

}  // namespace
}  // namespace arkroute::http
