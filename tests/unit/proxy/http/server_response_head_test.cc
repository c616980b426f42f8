// Unit: the response head's bytes, written straight into an evbuffer.
#include "proxy/http/server_response_head.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace arkroute::http {
namespace {

std::string headText(int status, const Headers& headers, std::string_view framing,
                     std::string_view already = "") {
  std::unique_ptr<evbuffer, decltype(&evbuffer_free)> out(evbuffer_new(), &evbuffer_free);
  evbuffer_add(out.get(), already.data(), already.size());
  writeResponseHead(out.get(), status, headers, framing);
  std::string text(evbuffer_get_length(out.get()), '\0');
  evbuffer_copyout(out.get(), text.data(), text.size());
  return text;
}

TEST(ResponseHead, WritesTheFieldsInOrderAndTheConnectionsFramingOnly) {
  Headers headers;
  headers.add("Content-Type", "application/json");
  headers.add("content-LENGTH", "999");
  headers.add("Connection", "close");
  headers.add("Transfer-Encoding", "chunked");
  headers.add("x-request-id", "req_1");
  headers.add("X-Empty", "");
  EXPECT_EQ(headText(200, headers, "Content-Length: 2\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: req_1\r\n"
            "X-Empty: \r\nContent-Length: 2\r\n\r\n");
}

TEST(ResponseHead, AppendsAfterWhatTheBufferHoldsAndNamesUnknownCodes) {
  EXPECT_EQ(headText(599, Headers(), "", "previous body"),
            "previous bodyHTTP/1.1 599 Unknown\r\n\r\n");
  EXPECT_EQ(headText(431, Headers(), "Connection: close\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n");
}

TEST(ResponseHead, AHeadLargerThanABufferChainIsWrittenWhole) {
  Headers headers;
  std::string value(9000, 'v');
  for (int i = 0; i < 8; ++i) headers.add("x-big-" + std::to_string(i), value);
  std::string text = headText(200, headers, "", std::string(4000, 'b'));
  EXPECT_EQ(text.size(), 4000 + 17 + 8 * (7 + 2 + 9000 + 2) + 2);
  EXPECT_EQ(text.substr(4000, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(text.substr(text.size() - 9004), value + "\r\n\r\n");
}

}  // namespace
}  // namespace arkroute::http
