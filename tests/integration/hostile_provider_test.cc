// Integration: a provider that answers with broken or hostile HTTP framing (bytes after the body,
// two lengths, length and chunked, 1xx and 101, 204 with a body, bare LF, folded headers, cut
// bodies, a close-delimited body ended by a reset...), often keeping the connection open
// afterwards. Several clients share a small pool of provider connections, so a connection reused
// after such an answer would hand one client's leftovers to another. Every client must get its
// own answer or a clean error, never stray bytes, and the gateway must keep serving and exit
// cleanly, over plain TCP and over TLS. And SSE streams in every line-ending style, whole or
// broken, split every 3 bytes: only whole, valid ones are cached.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"
#include "unit/proxy/http/upstream_test_server.h"

namespace arkroute::testing {
namespace {

using http::testing::ReceivedRequest;
using http::testing::ServerConnection;
using http::testing::TestServer;

// Bytes a second, smuggled answer would carry: no client may ever see them.
constexpr const char* kStray = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nSTRAY";

// What the provider does with the connection after answering.
enum class After { kKeepOpen, kClose, kReset };

struct Framing {
  const char* name;
  After after;
  bool may_cut;  // the failure comes after the head, so the client's answer may end early
  std::string (*answer)(const std::string& body);
};

std::string head(std::string_view status, std::string_view fields,
                 std::string_view type = "application/json") {
  return "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: " + std::string(type) + "\r\n" +
         std::string(fields) + "\r\n";
}

// A well-framed JSON answer (the test server's own helper).
std::string whole(const std::string& body) {
  return http::testing::httpResponse(200, body, "Content-Type: application/json\r\n");
}

// body in chunked encoding, piece bytes per chunk (an extension on the first), then trailer.
std::string chunks(const std::string& body, size_t piece, std::string_view trailer = "") {
  std::string out;
  for (size_t at = 0; at < body.size(); at += piece) {
    std::string part = body.substr(at, piece);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", part.size());
    out += std::string(size) + (at == 0 ? ";ext=1" : "") + "\r\n" + part + "\r\n";
  }
  return out + "0\r\n" + std::string(trailer) + "\r\n";
}

std::string chunked(const std::string& body, std::string_view trailer = "") {
  return head("200 OK", "Transfer-Encoding: chunked\r\n") + chunks(body, 7, trailer);
}

const std::vector<Framing>& framings() {
  static const std::vector<Framing> kFramings = {
      {"length", After::kKeepOpen, false, [](const std::string& b) { return whole(b); }},
      {"chunked", After::kKeepOpen, false, [](const std::string& b) { return chunked(b); }},
      {"trailers", After::kKeepOpen, false,
       [](const std::string& b) { return chunked(b, "X-Trailer: 1\r\n"); }},
      {"continue_first", After::kKeepOpen, false,
       [](const std::string& b) { return "HTTP/1.1 100 Continue\r\n\r\n" + whole(b); }},
      {"early_hints", After::kKeepOpen, false,
       [](const std::string& b) {
         return "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + whole(b);
       }},
      {"lf_only", After::kKeepOpen, false,
       [](const std::string& b) {
         return "HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: " +
                std::to_string(b.size()) + "\n\n" + b;
       }},
      {"folded_header", After::kKeepOpen, false,
       [](const std::string& b) {
         return head("200 OK",
                     "X-Folded: a\r\n b\r\nContent-Length: " + std::to_string(b.size()) + "\r\n") +
                b;
       }},
      {"bytes_after_body", After::kKeepOpen, false,
       [](const std::string& b) { return whole(b) + kStray; }},
      {"bytes_after_chunked", After::kKeepOpen, false,
       [](const std::string& b) { return chunked(b) + kStray; }},
      {"length_and_chunked", After::kKeepOpen, true,
       [](const std::string& b) {
         std::string c = chunked(b);
         return head("200 OK", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n") +
                c.substr(c.find("\r\n\r\n") + 4) + kStray;
       }},
      {"two_lengths", After::kKeepOpen, false,
       [](const std::string& b) {
         return head("200 OK", "Content-Length: " + std::to_string(b.size()) +
                                   "\r\nContent-Length: " + std::to_string(b.size() + 5) + "\r\n") +
                b + "STRAY";
       }},
      {"no_content_with_body", After::kKeepOpen, false,
       [](const std::string&) { return std::string("HTTP/1.1 204 No Content\r\n\r\n") + kStray; }},
      {"switching_protocols", After::kKeepOpen, false,
       [](const std::string&) {
         return std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n") + kStray;
       }},
      {"close_delimited", After::kClose, false,
       [](const std::string& b) {
         return "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + b;
       }},
      {"close_delimited_reset", After::kReset, true,  // whole JSON, then a reset, not a FIN
       [](const std::string& b) {
         return "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + b;
       }},
      {"spaced_length", After::kClose, false,
       [](const std::string& b) {
         return head("200 OK", "Content-Length : " + std::to_string(b.size()) + "\r\n") + b;
       }},
      {"short_body", After::kClose, true,  // whole, valid JSON, but 10 bytes short of its length
       [](const std::string& b) {
         return head("200 OK", "Content-Length: " + std::to_string(b.size() + 10) + "\r\n") + b;
       }},
      {"cut_mid_body", After::kClose, true,
       [](const std::string& b) { return whole(b).substr(0, whole(b).size() - b.size() / 2); }},
      {"bad_chunk_size", After::kKeepOpen, true,
       [](const std::string& b) {
         return head("200 OK", "Transfer-Encoding: chunked\r\n") + "zz\r\n" + b + "\r\n0\r\n\r\n";
       }},
      {"negative_length", After::kKeepOpen, false,
       [](const std::string& b) { return head("200 OK", "Content-Length: -1\r\n") + b; }},
      {"huge_header", After::kKeepOpen, false,
       [](const std::string& b) {
         return head("200 OK", "X-Big: " + std::string(200000, 'a') +
                                   "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n") +
                b;
       }},
      {"close_then_bytes", After::kKeepOpen, false,
       [](const std::string& b) {
         return head("200 OK",
                     "Connection: close\r\nContent-Length: " + std::to_string(b.size()) + "\r\n") +
                b + kStray;
       }},
  };
  return kFramings;
}

const Framing& framingNamed(std::string_view name) {
  for (const Framing& framing : framings()) {
    if (name == framing.name) return framing;
  }
  return framings().front();
}

// The provider: each prompt is "<framing>#<id>"; the answer's image URL carries the prompt.
// The provider's end of a connection. Over TLS, an orderly end (kClose) sends close_notify before
// the FIN: without it the gateway takes the end as a cut, as it must.
void serveHostile(ServerConnection& connection, bool tls) {
  ReceivedRequest request;
  while (connection.readRequest(&request)) {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    std::string prompt = body.is_object() ? body.value("prompt", "") : "";
    const Framing& framing = framingNamed(prompt.substr(0, prompt.find('#')));
    // Cacheable (a b64_json string) and naming its request (the URL), so a cached or leaked
    // answer shows whose it is.
    std::string image = R"({"created":1,"data":[{"b64_json":"SU1H","url":"http://images.test/)" +
                        prompt + R"("}]})";
    connection.write(framing.answer(image));
    if (framing.after == After::kClose) tls ? connection.closeNotify() : connection.close();
    if (framing.after == After::kReset) connection.reset();
    if (framing.after != After::kKeepOpen) return;
  }
}

// What is wrong with one client's answer ("" when nothing is).
std::string problemWith(const HttpResponse& response, const Framing& framing,
                        const std::string& prompt) {
  if (response.status == 0) return "no answer: " + response.error;
  if (!response.complete && !framing.may_cut) return "cut answer: " + response.error;
  if (framing.after == After::kReset && response.status == 200 && response.complete) {
    return "a body whose end was a reset passed on as whole";
  }
  if (response.body.find("STRAY") != std::string::npos) return "stray bytes: " + response.body;
  size_t at = 0;
  while ((at = response.body.find("images.test/", at)) != std::string::npos) {
    at += 12;
    if (response.body.compare(at, prompt.size() + 1, prompt + "\"") != 0) {
      return "another request's answer: " + response.body;
    }
  }
  if (response.status < 200) return "interim status " + std::to_string(response.status);
  if (response.status == 200 && response.complete &&
      response.body.find("images.test/" + prompt) == std::string::npos) {
    return "200 without its own image: " + response.body;
  }
  if (response.status >= 400) {
    auto error = nlohmann::json::parse(response.body, nullptr, false);
    if (!error.is_object() || !error.contains("error")) return "not an error: " + response.body;
  }
  return "";
}

// With the cache off the answers stream through; with it on they are also captured and stored,
// and the same request is sent twice: a HIT may only follow a whole 200 answer. Over plain TCP and
// over TLS, where bytes after an answer can also wait inside OpenSSL.
struct ProviderKind {
  bool cache;
  bool tls;
};

class HostileProvider : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(HostileProvider, EveryClientGetsItsOwnAnswerOrACleanErrorWhateverTheFraming) {
  const bool cache = GetParam().cache;
  const bool tls = GetParam().tls;
  TempDir certs;
  ASSERT_TRUE(!tls || makeCertificate(certs, "localhost"));
  TestServer::Tls certificate{certs.file("cert.pem"), certs.file("key.pem")};
  TestServer provider([tls](ServerConnection& connection) { serveHostile(connection, tls); },
                      tls ? &certificate : nullptr);
  std::string host_port = (tls ? "localhost:" : "127.0.0.1:") + std::to_string(provider.port());
  Gateway gateway{GatewayOptions{
      .upstream_base_url = (tls ? "https://" : "http://") + host_port + "/v1",
      .extra_upstream_toml = "max_connections = 2\nmax_retries = 0\neject_after = 1000\n"
                             "first_byte_timeout = \"5s\"\ntimeout = \"10s\"\n" +
                             (tls ? "ca_file = \"" + certs.file("cert.pem") + "\"\n" : ""),
      .cache_toml = cache ? "enabled = true\n" : "enabled = false\n",
      .workers = 1}};

  constexpr int kClients = 4;
  constexpr int kRounds = 3;
  const int sends = cache ? 2 : 1;
  std::mutex mutex;
  std::vector<std::string> problems;
  std::atomic<int> answered{0};
  std::atomic<int> hits{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      const auto& all = framings();
      for (size_t step = 0; step < kRounds * all.size(); ++step) {
        const Framing& framing = all[(step + client * 5) % all.size()];
        std::string prompt =
            std::string(framing.name) + "#" + std::to_string(client) + "." + std::to_string(step);
        HttpResponse first;
        for (int send = 0; send < sends; ++send) {
          HttpResponse response = httpPostJson(
              gateway.port(), "/v1/images/generations",
              R"({"model":"gpt-image-1","response_format":"b64_json","prompt":")" + prompt + "\"}");
          std::string problem = problemWith(response, framing, prompt);
          if (send == 0) first = response;
          if (response.header("x-arkroute-cache") == "HIT") ++hits;
          if (problem.empty() && response.header("x-arkroute-cache") == "HIT" &&
              !(first.status == 200 && first.complete)) {
            problem = "a HIT after a first answer that was not a whole 200 (" +
                      std::to_string(first.status) + "): " + response.body;
          }
          std::lock_guard lock(mutex);
          if (!problem.empty()) problems.push_back(prompt + " (" + framing.name + "): " + problem);
          if (response.status != 0) ++answered;
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (const std::string& problem : problems) ADD_FAILURE() << problem.substr(0, 400);
  EXPECT_EQ(answered.load(), sends * kClients * kRounds * static_cast<int>(framings().size()));
  if (cache) {
    EXPECT_GE(hits.load(), kClients * kRounds) << "the well-framed answers were cached";
  }

  HttpResponse after = httpPostJson(
      gateway.port(), "/v1/images/generations",
      R"({"model":"gpt-image-1","response_format":"b64_json","prompt":"length#after"})");
  EXPECT_EQ(problemWith(after, framingNamed("length"), "length#after"), "");
  EXPECT_EQ(after.status, 200);
  gateway.process().signal(SIGTERM);
  EXPECT_EQ(gateway.process().waitExit(20s), 0);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTlsCacheOffAndOn, HostileProvider,
                         ::testing::Values(ProviderKind{false, false}, ProviderKind{true, false},
                                           ProviderKind{false, true}, ProviderKind{true, true}),
                         [](const ::testing::TestParamInfo<ProviderKind>& info) {
                           return std::string(info.param.tls ? "Tls" : "Plain") +
                                  (info.param.cache ? "CacheOn" : "CacheOff");
                         });

// Streams with each line ending SSE allows, and broken ones. Each carries one completed image
// named after its prompt; the gateway may cache a stream only when it arrived whole and valid.
struct SseShape {
  const char* name;
  bool cacheable;
  std::string (*stream)(const std::string& completed_data);
};

std::string sseEvent(std::string_view name, std::string_view data, std::string_view eol) {
  return "event: " + std::string(name) + std::string(eol) + "data: " + std::string(data) +
         std::string(eol) + std::string(eol);
}

const std::vector<SseShape>& sseShapes() {
  static const std::vector<SseShape> kShapes = {
      {"lf", true,
       [](const std::string& d) { return sseEvent("image_generation.completed", d, "\n"); }},
      {"crlf", true,
       [](const std::string& d) { return sseEvent("image_generation.completed", d, "\r\n"); }},
      {"cr", true,
       [](const std::string& d) { return sseEvent("image_generation.completed", d, "\r"); }},
      {"splitdata", true,
       [](const std::string& d) {
         size_t comma = d.find(',') + 1;  // outside any string: the joining newline is whitespace
         return "event: image_generation.completed\ndata: " + d.substr(0, comma) +
                "\ndata:" + d.substr(comma) + "\n\n";
       }},
      {"comments", true,
       [](const std::string& d) {
         return ": keep-alive\n\n" +
                sseEvent("image_generation.partial_image",
                         R"({"type":"image_generation.partial_image","b64_json":"UEFSVA=="})",
                         "\n") +
                sseEvent("image_generation.completed", d, "\n");
       }},
      {"errorafter", false,
       [](const std::string& d) {
         return sseEvent("image_generation.completed", d, "\n") +
                sseEvent("error", R"({"type":"error","error":{"message":"x"}})", "\n");
       }},
      {"noblankline", false,
       [](const std::string& d) { return "event: image_generation.completed\ndata: " + d + "\n"; }},
      {"badjson", false,
       [](const std::string& d) {
         return sseEvent("image_generation.completed", d.substr(0, d.size() - 3), "\n");
       }},
  };
  return kShapes;
}

// Stream requests get their shape in 3-byte chunks (every split, CR and LF apart included);
// JSON requests get a plain answer whose image says it came from a JSON call.
void serveStreams(ServerConnection& connection) {
  ReceivedRequest request;
  while (connection.readRequest(&request)) {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    std::string prompt = body.value("prompt", "");
    std::string token = prompt.substr(0, prompt.find('#')) + prompt.substr(prompt.find('#') + 1);
    if (!body.value("stream", false)) {
      std::string json = R"({"created":1,"data":[{"b64_json":"JSON)" + token + R"("}]})";
      connection.write(whole(json));
      continue;
    }
    const SseShape* shape = &sseShapes().front();
    for (const SseShape& candidate : sseShapes()) {
      if (prompt.starts_with(std::string(candidate.name) + "#")) shape = &candidate;
    }
    std::string data = R"({"type":"image_generation.completed","b64_json":"STREAM)" + token +
                       R"(","size":"1024x1024"})";
    std::string stream = shape->stream(data);
    connection.write(head("200 OK", "Transfer-Encoding: chunked\r\n", "text/event-stream") +
                     chunks(stream, 3));
  }
}

TEST(HostileStreams, AreCachedOnlyWhenTheyArrivedWholeAndValidWhateverTheirLineEndings) {
  TestServer provider(serveStreams);
  GatewayOptions options;
  options.upstream_base_url = "http://127.0.0.1:" + std::to_string(provider.port()) + "/v1";
  options.extra_upstream_toml = "max_retries = 0\n";
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  for (const SseShape& shape : sseShapes()) {
    std::string prompt = std::string(shape.name) + "#1";
    std::string token = std::string(shape.name) + "1";
    HttpResponse streamed =
        httpPostJson(gateway.port(), "/v1/images/generations",
                     R"({"model":"gpt-image-1","stream":true,"prompt":")" + prompt + "\"}");
    EXPECT_EQ(streamed.status, 200) << shape.name << ": " << streamed.body;
    EXPECT_TRUE(streamed.complete) << shape.name;
    EXPECT_NE(streamed.body.find("STREAM" + token), std::string::npos) << shape.name;
    HttpResponse json = httpPostJson(gateway.port(), "/v1/images/generations",
                                     R"({"model":"gpt-image-1","prompt":")" + prompt + "\"}");
    ASSERT_EQ(json.status, 200) << shape.name << ": " << json.body;
    auto image = nlohmann::json::parse(json.body, nullptr, false)["data"][0]["b64_json"];
    if (shape.cacheable) {
      EXPECT_EQ(json.header("x-arkroute-cache"), "HIT") << shape.name;
      EXPECT_EQ(image, "STREAM" + token) << shape.name;
    } else {
      EXPECT_EQ(json.header("x-arkroute-cache"), "MISS") << shape.name;
      EXPECT_EQ(image, "JSON" + token) << shape.name;
    }
  }
}

// A provider's 503 whose body breaks off before its end: the retry, planned when the head came,
// still goes (the client saw nothing yet), instead of the cut body turning into a 502.
TEST(HostileRetries, AFailedAnswerCutWhileDroppedIsStillRetried) {
  std::atomic<int> requests{0};
  TestServer provider([&requests](ServerConnection& connection) {
    ReceivedRequest request;
    while (connection.readRequest(&request)) {
      if (requests++ == 0) {
        connection.write(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n{\"error\":");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the head is read first
        connection.reset();
        return;
      }
      connection.write(http::testing::httpResponse(200, R"({"created":1,"data":[{"url":"u"}]})",
                                                   "Content-Type: application/json\r\n"));
    }
  });
  Gateway gateway{GatewayOptions{
      .upstream_base_url = "http://127.0.0.1:" + std::to_string(provider.port()) + "/v1",
      .extra_upstream_toml = "max_retries = 1\nretry_base = \"10ms\"\neject_after = 0\n",
      .cache_toml = "enabled = false\n"}};
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations",
                                       R"({"model":"gpt-image-1","prompt":"cut, then retried"})");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(requests.load(), 2);
}

// A provider whose error answer quotes the key it was given, whole or with the key split across
// chunks, and in a header field: the client (JSON or url, where the gateway answers from what it
// captured) sees stars.
TEST(HostileSecrets, AProviderThatQuotesTheGatewaysKeyNeverShowsItToTheClient) {
  const std::string key = "sk-live-QUOTED-4a9b17c2e5";
  TestServer provider([](ServerConnection& connection) {
    ReceivedRequest request;
    while (connection.readRequest(&request)) {
      std::string body = R"({"error":{"message":"Incorrect API key provided: )" +
                         std::string(request.headers.get("authorization")) +
                         R"(","type":"invalid_request_error","code":"invalid_api_key"}})";
      std::string echoed(request.headers.get("authorization"));
      connection.write(
          head("401 Unauthorized", "Transfer-Encoding: chunked\r\nX-Echo-Key: " + echoed + "\r\n") +
          chunks(body, 11));
    }
  });
  Gateway gateway{GatewayOptions{
      .upstream_base_url = "http://127.0.0.1:" + std::to_string(provider.port()) + "/v1",
      .extra_upstream_toml = "api_key_env = \"QUOTED_KEY\"\nmax_retries = 0\n",
      .cache_toml = "enabled = true\n",
      .env = {{"QUOTED_KEY", key}}}};
  for (const char* format : {"b64_json", "url"}) {
    nlohmann::json body = {
        {"model", "gpt-image-1"}, {"prompt", "quote me"}, {"response_format", format}};
    HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", body.dump());
    EXPECT_EQ(response.status, 401) << format;
    EXPECT_EQ(response.body.find(key), std::string::npos) << format << ": " << response.body;
    EXPECT_NE(response.body.find("Bearer " + std::string(key.size(), '*')), std::string::npos)
        << format << ": " << response.body;
    EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "invalid_api_key");
    EXPECT_EQ(response.header("x-echo-key"), "Bearer " + std::string(key.size(), '*')) << format;
  }
}

}  // namespace
}  // namespace arkroute::testing
