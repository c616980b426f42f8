// Unit tests for which headers cross the gateway: hop-by-hop fields and credentials stay behind,
// the gateway's own response headers are never doubled by an upstream's copies, and header names
// that are not tokens from a provider never reach the client.
#include "proxy/generation_headers.h"

#include <event2/buffer.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "proxy/http/upstream_response.h"

namespace arkroute {
namespace {

http::Headers headersOf(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::Headers headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

std::vector<std::string> names(const http::Headers& headers) {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) out.emplace_back(name);
  return out;
}

TEST(GenerationHeaders, ClientHeadersForwardedWithoutCredentialsOrFraming) {
  http::Headers in = headersOf({{"Content-Type", "application/json"},
                                {"Authorization", "Bearer client-secret"},
                                {"Host", "gateway.local"},
                                {"Content-Length", "12"},
                                {"Connection", "keep-alive"},
                                {"X-Custom", "kept"}});
  http::Headers out;
  copyForwardableHeaders(in, &out);
  EXPECT_EQ(names(out), (std::vector<std::string>{"Content-Type", "X-Custom"}));
}

// RFC 9110 7.6.1: the fields a Connection header names are for one hop, in both directions; and
// Proxy-Authorization is a credential for a proxy, never the provider's.
TEST(GenerationHeaders, FieldsTheConnectionHeaderNamesStayOnTheirHop) {
  http::Headers in = headersOf({{"Connection", "keep-alive, X-Hop ,x-other"},
                                {"X-Hop", "secret"},
                                {"x-OTHER", "secret too"},
                                {"Proxy-Authorization", "Basic cHJveHk6cGFzcw=="},
                                {"X-Hopper", "kept: not named"},
                                {"Content-Type", "application/json"}});
  http::Headers out;
  copyForwardableHeaders(in, &out);
  EXPECT_EQ(names(out), (std::vector<std::string>{"X-Hopper", "Content-Type"}));
  http::Headers two_lines = headersOf(
      {{"Connection", "keep-alive"}, {"Connection", "X-Hop"}, {"X-Hop", "v"}, {"X-Kept", "k"}});
  http::Headers forwarded;
  copyForwardableHeaders(two_lines, &forwarded);
  EXPECT_EQ(names(forwarded), (std::vector<std::string>{"X-Kept"})) << "a second Connection line";
  http::Headers answer = headersOf({{"Connection", "x-up"}, {"X-Up", "v"}, {"X-Kept", "k"}});
  http::Headers returned;
  copyReturnableHeaders(answer, &returned, "");
  EXPECT_EQ(names(returned), (std::vector<std::string>{"X-Kept"}));
}

// The caller adds x-request-id and X-ArkRoute-{Model,Cache,Cost-USD} without searching, so an
// upstream's copies (another ArkRoute in front of the provider) must not come through; nor may
// what the provider says about its own site (cookies, HSTS, alt-svc).
TEST(GenerationHeaders, UpstreamCopiesOfTheGatewaysOwnHeadersAreDropped) {
  http::Headers in = headersOf({{"Content-Type", "application/json"},
                                {"X-Request-Id", "upstream-id"},
                                {"x-arkroute-model", "other-model"},
                                {"X-ArkRoute-Cache", "HIT"},
                                {"X-ARKROUTE-COST-USD", "0.000000"},
                                {"X-ArkRoute-Saved-USD", "0.040000"},
                                {"x-ratelimit-remaining-requests", "9"},
                                {"Transfer-Encoding", "chunked"},
                                {"Set-Cookie", "__cf_bm=provider; Domain=.openai.com"},
                                {"Strict-Transport-Security", "max-age=1; includeSubDomains"},
                                {"Alt-Svc", "h3=\":443\""}});
  http::Headers out;
  copyReturnableHeaders(in, &out, "");
  EXPECT_EQ(names(out),
            (std::vector<std::string>{"Content-Type", "X-ArkRoute-Saved-USD",
                                      "x-ratelimit-remaining-requests", "x-upstream-request-id"}));
  EXPECT_EQ(out.get("x-upstream-request-id"), "upstream-id");
}

// A provider that echoes the key it was given in a field (or in its request id) never shows it.
TEST(GenerationHeaders, TheGatewaysProviderKeyIsMaskedInReturnedFields) {
  const std::string key = "sk-proj-ECHOED-7c1d";
  std::string authenticate = "Bearer realm=\"api\", key=\"" + key + "\"";
  std::string request_id = "req-" + key;
  http::Headers in = headersOf({{"X-Echo-Key", key.c_str()},
                                {"WWW-Authenticate", authenticate.c_str()},
                                {"X-Request-Id", request_id.c_str()},
                                {"X-Other", "sk-proj-ECHOED"}});
  http::Headers out;
  copyReturnableHeaders(in, &out, key);
  std::string stars(key.size(), '*');
  EXPECT_EQ(out.get("x-echo-key"), stars);
  EXPECT_EQ(out.get("www-authenticate"), "Bearer realm=\"api\", key=\"" + stars + "\"");
  EXPECT_EQ(out.get("x-upstream-request-id"), "req-" + stars);
  EXPECT_EQ(out.get("x-other"), "sk-proj-ECHOED") << "only the whole key is masked";
}

// A provider's "Transfer-Encoding : chunked" is framing to http-parser. The response parser trims
// the name (RFC 9112 section 5.1), the hop-by-hop filter then drops it, and a name that is not a
// token at all never gets into the list: neither reaches the client.
TEST(GenerationHeaders, SpacedOrInvalidNamesFromTheProviderNeverReachTheClient) {
  std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\nX Spaced: dropped\r\n"
      "X-Kept : kept\r\nContent-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
  evbuffer* input = evbuffer_new();
  evbuffer* body = evbuffer_new();
  evbuffer_add(input, response.data(), response.size());
  http::ResponseParser parser;
  ASSERT_TRUE(parser.parse(input, body)) << parser.error();
  EXPECT_TRUE(parser.complete());
  EXPECT_EQ(evbuffer_get_length(body), 2u);
  evbuffer_free(input);
  evbuffer_free(body);
  EXPECT_EQ(names(parser.headers()),
            (std::vector<std::string>{"Transfer-Encoding", "X-Kept", "Content-Type"}));
  http::Headers out;
  copyReturnableHeaders(parser.headers(), &out, "");
  EXPECT_EQ(names(out), (std::vector<std::string>{"X-Kept", "Content-Type"}));
  EXPECT_EQ(out.get("x-kept"), "kept");
}

}  // namespace
}  // namespace arkroute
