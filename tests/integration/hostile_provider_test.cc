// Integration: a provider that answers with broken or hostile HTTP framing (bytes after the body,
// two lengths, length and chunked, 1xx and 101, 204 with a body, bare LF, folded headers, cut
// bodies...), often keeping the connection open afterwards. Several clients share a small pool of
// provider connections, so a connection reused after such an answer would hand one client's
// leftovers to another. Every client must get its own answer or a clean error, never stray bytes,
// and the gateway must keep serving and exit cleanly.
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

struct Framing {
  const char* name;
  bool keep_open;  // the provider goes on reading the connection after answering
  bool may_cut;    // the failure comes after the head, so the client's answer may end early
  std::string (*answer)(const std::string& body);
};

std::string head(std::string_view status, std::string_view fields) {
  return "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: application/json\r\n" +
         std::string(fields) + "\r\n";
}

std::string lengthHead(const std::string& body) {
  return head("200 OK", "Content-Length: " + std::to_string(body.size()) + "\r\n");
}

std::string chunked(const std::string& body, std::string_view trailer = "") {
  std::string out = head("200 OK", "Transfer-Encoding: chunked\r\n");
  for (size_t at = 0; at < body.size(); at += 7) {
    std::string piece = body.substr(at, 7);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    out += std::string(size) + (at == 0 ? ";ext=1" : "") + "\r\n" + piece + "\r\n";
  }
  return out + "0\r\n" + std::string(trailer) + "\r\n";
}

const std::vector<Framing>& framings() {
  static const std::vector<Framing> kFramings = {
      {"length", true, false, [](const std::string& b) { return lengthHead(b) + b; }},
      {"chunked", true, false, [](const std::string& b) { return chunked(b); }},
      {"trailers", true, false,
       [](const std::string& b) { return chunked(b, "X-Trailer: 1\r\n"); }},
      {"continue_first", true, false,
       [](const std::string& b) { return "HTTP/1.1 100 Continue\r\n\r\n" + lengthHead(b) + b; }},
      {"early_hints", true, false,
       [](const std::string& b) {
         return "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + lengthHead(b) + b;
       }},
      {"lf_only", true, false,
       [](const std::string& b) {
         return "HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: " +
                std::to_string(b.size()) + "\n\n" + b;
       }},
      {"folded_header", true, false,
       [](const std::string& b) {
         return head("200 OK",
                     "X-Folded: a\r\n b\r\nContent-Length: " + std::to_string(b.size()) + "\r\n") +
                b;
       }},
      {"bytes_after_body", true, false,
       [](const std::string& b) { return lengthHead(b) + b + kStray; }},
      {"bytes_after_chunked", true, false,
       [](const std::string& b) { return chunked(b) + kStray; }},
      {"length_and_chunked", true, true,
       [](const std::string& b) {
         std::string c = chunked(b);
         return head("200 OK", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n") +
                c.substr(c.find("\r\n\r\n") + 4) + kStray;
       }},
      {"two_lengths", true, false,
       [](const std::string& b) {
         return head("200 OK", "Content-Length: " + std::to_string(b.size()) +
                                   "\r\nContent-Length: " + std::to_string(b.size() + 5) + "\r\n") +
                b + "STRAY";
       }},
      {"no_content_with_body", true, false,
       [](const std::string&) { return std::string("HTTP/1.1 204 No Content\r\n\r\n") + kStray; }},
      {"switching_protocols", true, false,
       [](const std::string&) {
         return std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n") + kStray;
       }},
      {"close_delimited", false, false,
       [](const std::string& b) {
         return "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + b;
       }},
      {"spaced_length", false, false,
       [](const std::string& b) {
         return head("200 OK", "Content-Length : " + std::to_string(b.size()) + "\r\n") + b;
       }},
      {"cut_mid_body", false, true,
       [](const std::string& b) { return lengthHead(b) + b.substr(0, b.size() / 2); }},
      {"bad_chunk_size", true, true,
       [](const std::string& b) {
         return head("200 OK", "Transfer-Encoding: chunked\r\n") + "zz\r\n" + b + "\r\n0\r\n\r\n";
       }},
      {"negative_length", true, false,
       [](const std::string& b) { return head("200 OK", "Content-Length: -1\r\n") + b; }},
      {"huge_header", true, false,
       [](const std::string& b) {
         return head("200 OK", "X-Big: " + std::string(200000, 'a') +
                                   "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n") +
                b;
       }},
      {"close_then_bytes", true, false,
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
void serveHostile(ServerConnection& connection) {
  ReceivedRequest request;
  while (connection.readRequest(&request)) {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    std::string prompt = body.is_object() ? body.value("prompt", "") : "";
    const Framing& framing = framingNamed(prompt.substr(0, prompt.find('#')));
    std::string image = R"({"created":1,"data":[{"url":"http://images.test/)" + prompt + R"("}]})";
    connection.write(framing.answer(image));
    if (!framing.keep_open) {
      connection.close();
      return;
    }
  }
}

// What is wrong with one client's answer ("" when nothing is).
std::string problemWith(const HttpResponse& response, const Framing& framing,
                        const std::string& prompt) {
  if (response.status == 0) return "no answer: " + response.error;
  if (!response.complete && !framing.may_cut) return "cut answer: " + response.error;
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

TEST(HostileProvider, EveryClientGetsItsOwnAnswerOrACleanErrorWhateverTheFraming) {
  TestServer provider(serveHostile);
  Gateway gateway{GatewayOptions{
      .upstream_base_url = "http://127.0.0.1:" + std::to_string(provider.port()) + "/v1",
      .extra_upstream_toml = "max_connections = 2\nmax_retries = 0\neject_after = 1000\n"
                             "first_byte_timeout = \"5s\"\ntimeout = \"10s\"\n",
      .workers = 1}};

  constexpr int kClients = 4;
  constexpr int kRounds = 3;
  std::mutex mutex;
  std::vector<std::string> problems;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      const auto& all = framings();
      for (size_t step = 0; step < kRounds * all.size(); ++step) {
        const Framing& framing = all[(step + client * 5) % all.size()];
        std::string prompt =
            std::string(framing.name) + "#" + std::to_string(client) + "." + std::to_string(step);
        HttpResponse response = httpPostJson(
            gateway.port(), "/v1/images/generations",
            R"({"model":"gpt-image-1","response_format":"url","prompt":")" + prompt + "\"}");
        std::string problem = problemWith(response, framing, prompt);
        std::lock_guard lock(mutex);
        if (!problem.empty()) problems.push_back(prompt + " (" + framing.name + "): " + problem);
        if (response.status != 0) ++answered;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (const std::string& problem : problems) ADD_FAILURE() << problem.substr(0, 400);
  EXPECT_EQ(answered.load(), kClients * kRounds * static_cast<int>(framings().size()));

  HttpResponse after =
      httpPostJson(gateway.port(), "/v1/images/generations",
                   R"({"model":"gpt-image-1","response_format":"url","prompt":"length#after"})");
  EXPECT_EQ(problemWith(after, framingNamed("length"), "length#after"), "");
  EXPECT_EQ(after.status, 200);
  gateway.process().signal(SIGTERM);
  EXPECT_EQ(gateway.process().waitExit(20s), 0);
}

}  // namespace
}  // namespace arkroute::testing
