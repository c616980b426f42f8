// SocketStream on a real socketpair and event loop: reads, EOF, the read limit and its resumption,
// the number of read calls in the middle of a large body, large writes through a full socket with
// the drained callback, write errors and write timeouts.
#include "proxy/http/socket_stream.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include "unit/proxy/http/read_calls.h"
#include "unit/proxy/http/stream_test_support.h"

namespace arkroute::http {
namespace {

using namespace std::chrono_literals;

class SocketStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    base_ = event_base_new();
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    evutil_make_socket_nonblocking(fds[0]);
    evutil_make_socket_nonblocking(fds[1]);
    peer_ = fds[1];
    stream_ = std::make_unique<SocketStream>(base_, fds[0], recorder_);
  }
  void TearDown() override {
    stream_.reset();
    if (peer_ >= 0) close(peer_);
    event_base_free(base_);
  }

  // Runs the loop until done() or the deadline, calling between() after each pass.
  bool loopUntil(const std::function<bool()>& done, std::chrono::milliseconds deadline = 2s,
                 const std::function<void()>& between = {}) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!done() && std::chrono::steady_clock::now() < until) {
      event_base_loop(base_, EVLOOP_NONBLOCK | EVLOOP_ONCE);
      if (between) between();
    }
    return done();
  }
  std::string input() const {
    std::string text(evbuffer_get_length(stream_->input()), '\0');
    evbuffer_copyout(stream_->input(), text.data(), text.size());
    return text;
  }

  event_base* base_ = nullptr;
  int peer_ = -1;
  StreamRecorder recorder_;
  std::unique_ptr<SocketStream> stream_;
};

TEST_F(SocketStreamTest, DeliversWhatArrivesThenReportsEof) {
  ASSERT_EQ(write(peer_, "hello", 5), 5);
  ASSERT_TRUE(loopUntil([&] { return recorder_.reads > 0; }));
  EXPECT_EQ(input(), "hello");
  close(peer_);
  peer_ = -1;
  ASSERT_TRUE(loopUntil([&] { return recorder_.events != 0; }));
  EXPECT_EQ(recorder_.events, BEV_EVENT_READING | BEV_EVENT_EOF);
  EXPECT_EQ(input(), "hello") << "nothing lost, nothing duplicated";
}

TEST_F(SocketStreamTest, StopsReadingAtTheLimitAndResumesOnceInputIsConsumed) {
  stream_->setReadLimits(1000, 64 * 1024);
  std::string sent(5000, 'x');
  ASSERT_EQ(write(peer_, sent.data(), sent.size()), 5000);
  ASSERT_TRUE(loopUntil([&] { return recorder_.reads > 0; }));
  loopUntil([] { return false; }, 50ms);  // more loop passes read nothing while at the limit
  EXPECT_EQ(evbuffer_get_length(stream_->input()), 1000u);
  EXPECT_EQ(recorder_.reads, 1);
  evbuffer_drain(stream_->input(), 600);
  stream_->inputConsumed();
  ASSERT_TRUE(loopUntil([&] { return recorder_.reads > 1; }));
  EXPECT_EQ(evbuffer_get_length(stream_->input()), 1000u) << "topped up to the limit again";
}

// In the middle of a large body every read event finds more than its budget waiting: it takes it
// in one call instead of growing from a small first read (16 KiB, then 4x) every time.
TEST_F(SocketStreamTest, AReadEventInTheMiddleOfALargeBodyIsOneReadCall) {
  constexpr size_t kBudget = 24 * 1024;
  stream_->setReadLimits(0, kBudget);
  std::string sent;
  for (size_t i = 0; sent.size() < (1u << 20); ++i) {  // as much as the socket holds, up to 1 MiB
    std::string block(4096, static_cast<char>('a' + i % 26));
    ssize_t wrote = write(peer_, block.data(), block.size());
    if (wrote <= 0) break;
    sent.append(block, 0, static_cast<size_t>(wrote));
  }
  ASSERT_GE(sent.size(), 6 * kBudget) << "the socket should hold several events' worth";
  long overhead = readCallsSoFar();  // reading /proc/self/io costs read calls of its own
  overhead = readCallsSoFar() - overhead;
  long before = readCallsSoFar();
  ASSERT_TRUE(loopUntil([&] { return evbuffer_get_length(stream_->input()) == sent.size(); }));
  long read_calls = readCallsSoFar() - before - overhead;
  EXPECT_EQ(input(), sent);
  int events = recorder_.reads;
  EXPECT_GE(events, static_cast<int>(sent.size() / kBudget));
  // The first event grows 16 KiB -> 24 KiB (two calls), each later one is a single call, and the
  // last may add one that finds the socket empty. Growing every time would be two per event.
  EXPECT_LE(read_calls, events + 2) << events << " read events";
}

TEST_F(SocketStreamTest, WritesMoreThanTheSocketHoldsAndReportsTheDrainOnce) {
  int small = 4096;
  setsockopt(stream_->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string sent(2 * 1024 * 1024, '\0');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + i % 26);
  evbuffer_add(stream_->output(), sent.data(), sent.size());
  stream_->flushSoon();
  std::string received;
  char chunk[65536];
  auto drain_peer = [&] {
    ssize_t got;
    while ((got = read(peer_, chunk, sizeof chunk)) > 0) received.append(chunk, got);
  };
  ASSERT_TRUE(loopUntil([&] { return received.size() == sent.size(); }, 5s, drain_peer));
  loopUntil([&] { return recorder_.written > 0; }, 1s);
  EXPECT_TRUE(received == sent) << "byte-exact, in order";
  EXPECT_EQ(recorder_.written, 1) << "one notice: when the last byte left";
  EXPECT_EQ(recorder_.events, 0);
  EXPECT_TRUE(stream_->writable());
}

TEST_F(SocketStreamTest, WriteToAClosedPeerIsAWriteError) {
  close(peer_);
  peer_ = -1;
  evbuffer_add(stream_->output(), "data", 4);
  stream_->flushSoon();
  ASSERT_TRUE(loopUntil([&] { return (recorder_.events & BEV_EVENT_WRITING) != 0; }));
  EXPECT_TRUE(recorder_.events & BEV_EVENT_ERROR);
  EXPECT_FALSE(stream_->writable());
}

TEST_F(SocketStreamTest, WriteTimeoutWhenThePeerStopsReading) {
  int small = 4096;
  setsockopt(stream_->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  stream_->setWriteTimeout(100ms);
  std::string big(4 * 1024 * 1024, 'z');
  evbuffer_add(stream_->output(), big.data(), big.size());
  stream_->flushSoon();
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(loopUntil([&] { return recorder_.events != 0; }, 3s));
  EXPECT_EQ(recorder_.events, BEV_EVENT_WRITING | BEV_EVENT_TIMEOUT);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 90ms);
  EXPECT_FALSE(stream_->writable());
}

TEST_F(SocketStreamTest, AHandlerMayDestroyTheStreamInsideItsCallback) {
  recorder_.on_read = [&] { stream_.reset(); };
  ASSERT_EQ(write(peer_, "bye", 3), 3);
  ASSERT_TRUE(loopUntil([&] { return stream_ == nullptr; }));
  char byte;
  ASSERT_TRUE(loopUntil([&] { return read(peer_, &byte, 1) == 0; }, 1s)) << "socket closed";
}

}  // namespace
}  // namespace arkroute::http
