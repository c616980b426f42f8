// Integration: slow and idle clients are dropped, a client that stops reading holds back the
// upstream (bounded memory) instead of making the gateway buffer the whole response, and running
// out of file descriptors pauses accepting (clients wait in the backlog) instead of spinning.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

size_t openDescriptors(pid_t pid) {
  auto fds = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd");
  return static_cast<size_t>(std::distance(begin(fds), end(fds)));
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// With its open-files limit reached, accept() fails while the listening socket stays readable:
// retrying at once would spin a core and flood the log. The gateway pauses accepting instead,
// says so once, counts it, and serves the clients that waited once descriptors are free again.
TEST(ClientLimits, OutOfFileDescriptorsPausesAcceptingAndRecovers) {
  Simulator sim;
  GatewayOptions options{.upstream_base_url = sim.baseUrl()};
  options.workers = 1;
  Gateway gateway(options);
  // One request first: under UBSan, the first check of each dynamic type (a client connection's)
  // needs a spare descriptor of its own, which this test takes away.
  ASSERT_EQ(httpGet(gateway.port(), "/healthz").status, 200);
  pid_t pid = gateway.process().pid();
  rlimit tight{};
  tight.rlim_cur = tight.rlim_max = openDescriptors(pid) + 3;
  ASSERT_EQ(prlimit(pid, RLIMIT_NOFILE, &tight, nullptr), 0) << std::strerror(errno);

  std::vector<int> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(connectLoopback(gateway.port()));
  int waiting = clients.back();  // in the listen backlog: the gateway has no descriptor for it
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(waiting, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(700ms);  // over the limit for a few pauses
  clients.pop_back();
  for (int fd : clients) close(fd);

  std::string answer = readUntilClosed(waiting, 10s);
  close(waiting);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  HttpResponse scrape = httpGet(gateway.port(), "/metrics");
  ASSERT_EQ(scrape.status, 200);
  std::string series = "\narkroute_accept_paused_total ";
  size_t at = scrape.body.find(series);
  ASSERT_NE(at, std::string::npos) << scrape.body;
  EXPECT_GE(std::stod(scrape.body.substr(at + series.size())), 1.0);
  std::ifstream stderr_file(gateway.process().stderrPath());
  std::stringstream log;
  log << stderr_file.rdbuf();
  EXPECT_EQ(occurrences(log.str(), "cannot accept connections: Too many open files"), 1u)
      << "one message per 10 s, not one per attempt:\n"
      << log.str();
}

TEST(ClientLimits, AClientTooSlowToSendItsRequestGets408) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .server_toml = "request_timeout = \"300ms\"\n"});
  int fd = connectLoopback(gateway.port());
  std::string partial =
      "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nx-request-id: slow-client-7\r\n"
      "Content-Length: 100\r\n\r\n{\"pro";
  send(fd, partial.data(), partial.size(), 0);
  std::string answer = readUntilClosed(fd, 3s);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
  EXPECT_NE(answer.find("request_timeout"), std::string::npos);
  // The id the access log gives this request is the one the client gets (its own here).
  EXPECT_NE(answer.find("\r\nx-request-id: slow-client-7\r\n"), std::string::npos) << answer;
  fd = connectLoopback(gateway.port());
  std::string malformed = "GET /v1/models HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n";
  send(fd, malformed.data(), malformed.size(), 0);
  answer = readUntilClosed(fd, 3s);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("\r\nx-request-id: req_"), std::string::npos) << answer;
  EXPECT_NE(answer.find("malformed_request"), std::string::npos) << answer;
  EXPECT_NE(answer.find("<EOF>"), std::string::npos);
  EXPECT_EQ(sim.requests(), 0);
}

// Most HTTP libraries send the whole body before they read anything. The gateway answers 413 from
// the head; it then reads and drops the rest of the upload before it closes, so that the client's
// sending completes and it reads that 413, instead of a reset failing its upload half-way.
TEST(ClientLimits, AnOversizedUploadSentWholeStillReadsIts413) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .server_toml = "max_body_bytes = \"64KiB\"\n"});
  int fd = connectLoopback(gateway.port());
  timeval limit{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  constexpr size_t kBodyBytes = 16u << 20;  // more than the kernel's buffers hold
  std::string head =
      "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(kBodyBytes) + "\r\n\r\n";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::string piece(64 * 1024, 'x');
  size_t sent = 0;
  int send_errno = 0;
  while (sent < kBodyBytes) {
    ssize_t n = send(fd, piece.data(), std::min(piece.size(), kBodyBytes - sent), MSG_NOSIGNAL);
    if (n <= 0) {
      send_errno = errno;
      break;
    }
    sent += static_cast<size_t>(n);
  }
  EXPECT_EQ(sent, kBodyBytes) << "the upload was cut: " << std::strerror(send_errno);
  std::string answer = readUntilClosed(fd, 5s);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_NE(answer.find("exceeds the limit"), std::string::npos) << answer;
  EXPECT_NE(answer.find("<EOF>"), std::string::npos) << "closed in order, not reset: " << answer;
  EXPECT_EQ(sim.requests(), 0);
  EXPECT_EQ(httpGet(gateway.port(), "/healthz").status, 200);
}

TEST(ClientLimits, IdleKeepAliveConnectionsAreClosed) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .server_toml = "idle_timeout = \"300ms\"\n"});
  int fd = connectLoopback(gateway.port());
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  send(fd, request.data(), request.size(), 0);
  auto started = std::chrono::steady_clock::now();
  std::string answer = readUntilClosed(fd, 3s);
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_NE(answer.find("<EOF>"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

// Reads until `count` HTTP responses with Content-Length bodies have arrived (or timeout).
std::vector<std::string> readResponses(int fd, size_t count, std::chrono::milliseconds timeout) {
  std::string buffered;
  std::vector<std::string> responses;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[65536];
  while (responses.size() < count && std::chrono::steady_clock::now() < deadline) {
    size_t head_end = buffered.find("\r\n\r\n");
    size_t length_at = buffered.find("Content-Length: ");
    if (head_end != std::string::npos && length_at != std::string::npos && length_at < head_end) {
      size_t total = head_end + 4 + std::stoul(buffered.substr(length_at + 16));
      if (buffered.size() >= total) {
        responses.push_back(buffered.substr(0, total));
        buffered.erase(0, total);
        continue;
      }
    }
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buffered.append(chunk, size_t(n));
  }
  return responses;
}

TEST(ClientLimits, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  Simulator sim;
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  int fd = connectLoopback(gateway.port());
  std::string body = R"({"model":"gpt-image-1","prompt":"pipelined","response_format":"url"})";
  std::string generation =
      "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  // Four requests in one write: the last three wait in the gateway's buffer while the first runs.
  std::string batch = generation + "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n" + generation +
                      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, batch.data(), batch.size(), 0), ssize_t(batch.size()));
  std::vector<std::string> responses = readResponses(fd, 4, 5s);
  close(fd);
  ASSERT_EQ(responses.size(), 4u);
  EXPECT_EQ(responses[0].rfind("HTTP/1.1 200", 0), 0u) << responses[0];
  EXPECT_NE(responses[0].find("\"url\""), std::string::npos);
  EXPECT_EQ(responses[1].rfind("HTTP/1.1 200", 0), 0u) << responses[1];
  EXPECT_NE(responses[1].find("\"object\":\"list\""), std::string::npos);
  EXPECT_EQ(responses[2].rfind("HTTP/1.1 200", 0), 0u) << responses[2];
  EXPECT_EQ(responses[3].rfind("HTTP/1.1 404", 0), 0u) << responses[3];
  EXPECT_EQ(sim.requests(), 2);
}

// Resident memory of a process in bytes (VmRSS).
size_t residentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(ClientLimits, AClientThatStopsReadingHoldsBackTheUpstream) {
  Simulator sim({"--payload-bytes", "48000000"});
  Gateway gateway(GatewayOptions{.upstream_base_url = sim.baseUrl()});
  size_t before = residentBytes(gateway.process().pid());
  int fd = connectLoopback(gateway.port());
  std::string body = R"({"model":"gpt-image-1","prompt":"huge and slow"})";
  std::string request =
      "POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  send(fd, request.data(), request.size(), 0);
  // Read nothing: once the answer flows (bytes wait in this socket), give the provider time to
  // send all it could if nothing held it back.
  int pending = 0;
  for (int i = 0; i < 2000 && pending == 0; ++i) {
    std::this_thread::sleep_for(5ms);
    ioctl(fd, FIONREAD, &pending);
  }
  ASSERT_GT(pending, 0) << "the answer never began";
  std::this_thread::sleep_for(1500ms);
  size_t during = residentBytes(gateway.process().pid());
  EXPECT_LT(during, before + 16'000'000)
      << "the gateway must not buffer the 48 MB body for a client that does not read";
  std::string all;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    all.append(buffer, size_t(n));
    if (all.size() > 48'000'000 && all.ends_with("}")) break;
  }
  close(fd);
  EXPECT_GT(all.size(), 48'000'000u);
  HttpResponse direct = httpPostJson(sim.port(), "/v1/images/generations", body);
  EXPECT_TRUE(all.ends_with(direct.body)) << "the body arrives intact once the client reads";
}

}  // namespace
}  // namespace arkroute::testing
