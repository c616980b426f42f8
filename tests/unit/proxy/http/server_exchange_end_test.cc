// Exchange::onEnded and the sent-response accounting (status, body bytes) on a real HttpServer over
// loopback: whole responses, streamed chunked responses, HEAD (no body on the wire), and a client
// that leaves before any answer (ended, not finished, status 0), an aborted answer (what was
// queued is sent first). The hook fires exactly once.
// Also HttpServer::onRejected for requests the server refuses before any handler (413).
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http/server.h"

namespace arkroute::http {
namespace {

using namespace std::chrono_literals;

struct Ended {
  std::string path;
  int status;
  uint64_t body_bytes;
  bool finished;
};

class ServerEndHook : public ::testing::Test {
 protected:
  void SetUp() override {
    evthread_use_pthreads();  // TearDown ends the loop from the test thread
    base_ = event_base_new();
    server_ = std::make_unique<HttpServer>(
        base_, ServerLimits{}, [this](std::shared_ptr<Exchange> exchange) { handle(exchange); },
        [](int, std::string_view) { return std::string("{}"); });
    server_->onRejected([this](int status, const Request& request, uint64_t body_bytes) {
      std::lock_guard lock(mutex_);
      ended_.push_back({"rejected " + request.path, status, body_bytes, false});
      changed_.notify_all();
      return std::string("rejected-id");
    });
    std::string error;
    ASSERT_TRUE(server_->listen("127.0.0.1", 0, false, &error)) << error;
    loop_ = std::thread([this] { event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY); });
  }
  void TearDown() override {
    event_base_loopexit(base_, nullptr);
    loop_.join();
    held_.clear();
    server_.reset();
    event_base_free(base_);
  }

  void handle(const std::shared_ptr<Exchange>& exchange) {
    std::string path = exchange->request().path;
    exchange->onEnded([this, path](const Exchange& ended) {
      std::lock_guard lock(mutex_);
      ended_.push_back({path, ended.sentStatus(), ended.sentBodyBytes(), ended.finished()});
      changed_.notify_all();
    });
    if (path == "/whole") {
      exchange->respond(201, Headers{}, "hello");
    } else if (path == "/stream") {
      exchange->startResponse(200, Headers{}, std::nullopt);
      exchange->writeBody(std::string_view("ab"));
      exchange->writeBody(std::string_view("cde"));
      exchange->endResponse();
      exchange->endResponse();                                    // a second end changes nothing
    } else if (path == "/nocontent" || path == "/notmodified") {  // no length given, as passed on
      exchange->startResponse(path == "/nocontent" ? 204 : 304, Headers{}, std::nullopt);
      exchange->endResponse();
    } else if (path == "/cut") {  // the head and part of the body, then the answer is aborted
      exchange->startResponse(200, Headers{}, 10);
      exchange->writeBody(std::string_view("abcd"));
      exchange->abort();
    } else {
      held_.push_back(exchange);  // "/hang": never answered
    }
  }

  // Sends raw bytes, reads until the server closes or 2 s pass; returns what arrived.
  std::string exchangeRaw(const std::string& wire, bool wait_for_answer = true) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(server_->boundPort());
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(send(fd, wire.data(), wire.size(), MSG_NOSIGNAL), ssize_t(wire.size()));
    std::string answer;
    if (wait_for_answer) {
      timeval timeout{2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, size_t(n));
    }
    close(fd);
    return answer;
  }

  std::vector<Ended> waitForEnded(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 5s, [&] { return ended_.size() >= count; });
    return ended_;
  }

  event_base* base_ = nullptr;
  std::unique_ptr<HttpServer> server_;
  std::thread loop_;
  std::vector<std::shared_ptr<Exchange>> held_;  // touched on the loop thread only
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Ended> ended_;
};

TEST_F(ServerEndHook, WholeResponseEndsOnceWithStatusAndBodyBytes) {
  std::string answer = exchangeRaw("GET /whole HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(answer.find("201"), std::string::npos);
  auto ended = waitForEnded(1);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].status, 201);
  EXPECT_EQ(ended[0].body_bytes, 5u);
  EXPECT_TRUE(ended[0].finished);
}

TEST_F(ServerEndHook, StreamedBodyBytesExcludeChunkFraming) {
  std::string answer = exchangeRaw("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(answer.find("Transfer-Encoding: chunked"), std::string::npos) << answer;
  auto ended = waitForEnded(1);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].status, 200);
  EXPECT_EQ(ended[0].body_bytes, 5u);
}

TEST_F(ServerEndHook, HeadSendsNoBodyBytes) {
  std::string answer = exchangeRaw("HEAD /whole HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(answer.find("Content-Length: 5\r\n"), std::string::npos) << answer;
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), "") << "a HEAD answer has no body";
  auto ended = waitForEnded(1);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].status, 201);
  EXPECT_EQ(ended[0].body_bytes, 0u);
}

// A 204 or 304 has no body: no chunked framing goes out for it, so the next answer on the
// connection starts right after its head.
TEST_F(ServerEndHook, AnswersWithoutABodyGetNoFramingAndKeepTheConnectionInStep) {
  std::string answer = exchangeRaw(
      "GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\nGET /notmodified HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /whole HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(answer.find("Transfer-Encoding"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("Content-Length: 0"), std::string::npos) << answer;
  size_t second = answer.find("\r\n\r\n") + 4;
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 204") << answer;
  EXPECT_EQ(answer.substr(second, 12), "HTTP/1.1 304") << answer;
  size_t third = answer.find("\r\n\r\n", second) + 4;
  EXPECT_EQ(answer.substr(third, 12), "HTTP/1.1 201") << answer;
  EXPECT_EQ(answer.substr(answer.size() - 5), "hello") << answer;
}

// An answer aborted right after its first bytes were queued (a provider's answer cut off in the
// same turn of the loop): what was queued still reaches the client before the reset, so it sees
// a cut answer, not none.
TEST_F(ServerEndHook, AnAbortedAnswerSendsWhatWasQueuedThenResets) {
  std::string answer = exchangeRaw("GET /cut HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer;
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), "abcd") << answer;
  auto ended = waitForEnded(1);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].status, 200);
  EXPECT_EQ(ended[0].body_bytes, 4u);
}

TEST_F(ServerEndHook, ClientLeavingBeforeAnAnswerEndsTheExchangeUnfinished) {
  exchangeRaw("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n", /*wait_for_answer=*/false);
  auto ended = waitForEnded(1);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].path, "/hang");
  EXPECT_EQ(ended[0].status, 0);
  EXPECT_FALSE(ended[0].finished);
  std::this_thread::sleep_for(50ms);  // nothing more may arrive
  EXPECT_EQ(waitForEnded(1).size(), 1u);
}

TEST_F(ServerEndHook, RequestsTheServerRefusesItselfAreReported) {
  std::string answer = exchangeRaw("GET /oversized HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                   std::to_string(ServerLimits{}.max_body_bytes + 1) + "\r\n\r\n");
  EXPECT_NE(answer.find("413"), std::string::npos) << answer;
  auto ended = waitForEnded(1);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].path, "rejected /oversized");
  EXPECT_EQ(ended[0].status, 413);
  EXPECT_EQ(ended[0].body_bytes, 2u);  // the "{}" error body of this fixture
}

}  // namespace
}  // namespace arkroute::http
