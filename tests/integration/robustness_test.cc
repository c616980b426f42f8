// Integration: a seeded stream of hostile client input against the gateway with the cache on:
// broken HTTP framing, odd and deeply nested JSON, provider faults, chunked bodies, pipelining,
// clients that leave early. Every complete request gets a well-formed answer (or, for a request
// that never completes, a 408) before its connection closes, none hangs, the provider key never
// shows, and afterwards the gateway still serves and exits cleanly (under ASan: without a leak).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

constexpr const char* kRobustnessSecret = "sk-robustness-secret-4711";

class CaseMaker {
 public:
  explicit CaseMaker(uint32_t seed) : random_(seed) {}

  // One connection's bytes; every request in it is complete, the last one asks to close.
  std::string next() {
    switch (pick(10)) {
      case 0:
        return brokenHttp();
      case 1:
        return otherEndpoint(true);
      case 2:
        return generation(false) + otherEndpoint(false) + generation(true);
      default:
        return generation(true);
    }
  }

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(random_); }

 private:
  template <size_t N>
  const char* oneOf(const char* const (&options)[N]) {
    return options[pick(N)];
  }

  std::string jsonValue(int depth) {
    static const char* const kScalars[] = {"null",
                                           "true",
                                           "0",
                                           "-1",
                                           "1.5",
                                           "1e308",
                                           "100000000000000000000000",
                                           "\"\"",
                                           "\"\\u00e9\\ud83d\\ude00\"",
                                           "\"a\\\"b\\\\c\\n\""};
    if (depth > 2 || pick(3) == 0) return oneOf(kScalars);
    if (pick(2) == 0) return "[" + jsonValue(depth + 1) + "," + jsonValue(depth + 1) + "]";
    return "{\"k\":" + jsonValue(depth + 1) + "}";
  }

  std::string body() {
    static const char* const kModels[] = {
        "\"gpt-image-1\"",  "\"seedream-4.5\"", "\"nope\"", "\"\"", "5", "null",
        "[\"gpt-image-1\"]"};
    static const char* const kPrompts[] = {"\"a cat\"", "\"\"", "7", "{\"text\":\"a cat\"}",
                                           "\"\\u0000 nul inside\""};
    switch (pick(12)) {
      case 0:
        return std::string(3000, '[') + std::string(3000, ']');
      case 1:
        return "{\"model\":\"gpt-image-1\",\"prompt\":";  // cut short
      case 2:
        return std::string("\xff\xfe{\"model\x00\":1}", 14);
      default:
        break;
    }
    std::string out = "{\"model\":" + std::string(oneOf(kModels)) +
                      ",\"prompt\":" + std::string(pick(4) ? "\"a cat\"" : oneOf(kPrompts));
    static const char* const kFields[] = {"\"n\":2",
                                          "\"n\":0",
                                          "\"n\":\"2\"",
                                          "\"stream\":true",
                                          "\"stream\":1",
                                          "\"size\":\"1x1\"",
                                          "\"quality\":3",
                                          "\"response_format\":\"url\"",
                                          "\"seed\":-5",
                                          "\"prompt\":\"dup\"",
                                          "\"response_format\":\"gif\"",
                                          "\"partial_images\":2"};
    for (size_t i = pick(4); i > 0; --i) out += "," + std::string(oneOf(kFields));
    if (pick(3) == 0) out += ",\"extra\":" + jsonValue(0);
    return out + "}";
  }

  std::string request(const std::string& method, const std::string& path,
                      const std::string& payload, bool close, bool chunked) {
    static const char* const kFaults[] = {"429", "500", "503", "reset-before-headers",
                                          "reset-mid-body"};
    std::string head = method + " " + path + " HTTP/1.1\r\nHost: robust\r\n";
    if (pick(3) == 0) head += "x-sim-fault: " + std::string(oneOf(kFaults)) + "\r\n";
    if (pick(6) == 0) head += "Authorization: Bearer client-key\r\n";
    if (pick(6) == 0) head += "Cache-Control: no-cache\r\n";
    if (close) head += "Connection: close\r\n";
    if (!chunked)
      return head + "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" + payload;
    std::string framed;
    for (size_t at = 0; at < payload.size(); at += 7) {
      std::string piece = payload.substr(at, 7);
      char size[16];
      snprintf(size, sizeof size, "%zx\r\n", piece.size());
      framed += size + piece + "\r\n";
    }
    return head + "Transfer-Encoding: chunked\r\n\r\n" + framed + "0\r\n\r\n";
  }

  std::string generation(bool close) {
    return request("POST", "/v1/images/generations", body(), close, pick(5) == 0);
  }

  std::string otherEndpoint(bool close) {
    static const char* const kMethods[] = {"GET", "POST", "DELETE", "HEAD", "OPTIONS"};
    static const char* const kPaths[] = {
        "/v1/models", "/healthz", "/metrics",        "/mcp",
        "/v1/usage",  "/nowhere", "/v1/cache/stats", "/v1/images/generations?x=1"};
    std::string method = oneOf(kMethods);
    std::string payload = method == "POST" ? body() : "";
    return request(method, oneOf(kPaths), payload, close, false);
  }

  std::string brokenHttp() {
    static const char* const kBroken[] = {
        "GARBAGE\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET /\r\n\r\n",
        "POST /v1/images/generations HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: "
        "7\r\n\r\n{}{}{}{",
        "POST /v1/images/generations HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
        "POST /v1/images/generations HTTP/1.1\r\nTransfer-Encoding: "
        "chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        "POST /v1/images/generations HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /v1/images/generations HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding: "
        "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET /v1/models HTTP/1.1\r\nHost: x\r\n folded\r\nConnection: close\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n",
    };
    if (pick(8) == 0)
      return "GET /v1/models HTTP/1.1\r\nX: " + std::string(70000, 'a') + "\r\n\r\n";
    return oneOf(kBroken);
  }

  std::mt19937 random_;
};

// Splits the answer bytes into status lines; false when one is not "HTTP/1.1 NNN ".
bool statusLinesAreWellFormed(const std::string& answer, int* count) {
  *count = 0;
  for (size_t at = answer.find("HTTP/1.1 "); at != std::string::npos;
       at = answer.find("HTTP/1.1 ", at + 1)) {
    if (at + 13 > answer.size()) return false;
    for (size_t i = 9; i < 12; ++i) {
      if (!isdigit(static_cast<unsigned char>(answer[at + i]))) return false;
    }
    ++*count;
  }
  return true;
}

TEST(Robustness, HostileInputIsAnsweredOrClosedAndNeverCrashesHangsOrLeaksTheKey) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .extra_upstream_toml = "api_key_env = \"ROBUST_KEY\"\n",
                                 .server_toml = "request_timeout = \"1s\"\n",
                                 .cache_toml = "enabled = true\n",
                                 .env = {{"ROBUST_KEY", kRobustnessSecret}}});
  CaseMaker maker(20261130);
  int answered = 0;
  for (int i = 0; i < 300; ++i) {
    std::string wire = maker.next();
    int fd = connectLoopback(gateway.port());
    ASSERT_GE(fd, 0) << "case " << i << ": the gateway stopped accepting";
    bool leave_early = maker.pick(10) == 0;
    send(fd, wire.data(), leave_early ? maker.pick(wire.size() + 1) : wire.size(), MSG_NOSIGNAL);
    if (leave_early) {
      close(fd);  // mid-request or before the answer: the gateway must just clean up
      continue;
    }
    std::string answer = readUntilClosed(fd, 15s);
    close(fd);
    std::string shown = wire.substr(0, 300);
    ASSERT_TRUE(answer.ends_with("<EOF>") || answer.ends_with("<ERR>"))
        << "case " << i << ": no end within 15 s for: " << shown
        << "\nanswer so far: " << answer.substr(0, 300);
    int statuses = 0;
    EXPECT_TRUE(statusLinesAreWellFormed(answer, &statuses)) << "case " << i << ": " << answer;
    EXPECT_GE(statuses, 1) << "case " << i << ": closed without an answer: " << shown;
    EXPECT_EQ(answer.find(kRobustnessSecret), std::string::npos) << "case " << i;
    answered += statuses;
  }
  EXPECT_GT(answered, 250);

  HttpResponse health = httpGet(gateway.port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  HttpResponse generation =
      httpPostJson(gateway.port(), "/v1/images/generations",
                   R"({"model":"gpt-image-1","prompt":"after the storm","response_format":"url"})");
  EXPECT_EQ(generation.status, 200) << generation.body;
  gateway.process().signal(SIGTERM);
  EXPECT_EQ(gateway.process().waitExit(20s), 0);
}

}  // namespace
}  // namespace arkroute::testing
