// SocketStream's TLS mode on a real socketpair, against a blocking OpenSSL server in a thread: all
// the records waiting in the socket decrypted in one event and one read call, records OpenSSL
// holds beyond an event's budget still delivered, records cut anywhere and trickling in at any
// pace delivered whole, data before an end delivered before the end
// (with and without close_notify), writes larger than the socket holds, output that leaves in
// batches of records, a renegotiation in the middle of the stream (TLS 1.2) and a key update that
// asks for the client's (TLS 1.3).
#include <event2/buffer.h>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http/socket_stream.h"
#include "proxy/http/tls_client.h"
#include "proxy/http/upstream.h"
#include "unit/proxy/http/read_calls.h"
#include "unit/proxy/http/stream_test_support.h"
#include "unit/proxy/http/upstream_test_support.h"

namespace arkroute::http::testing {
namespace {

using namespace std::chrono_literals;

std::string pattern(size_t size) {
  std::string text(size, '\0');
  for (size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return text;
}

// The server end: a blocking TLS server with the localhost certificate, run by a thread.
class TlsServerEnd {
 public:
  explicit TlsServerEnd(int fd) : fd_(fd) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_chain_file(ctx_, testCerts().localhost_cert.c_str());
    SSL_CTX_use_PrivateKey_file(ctx_, testCerts().localhost_key.c_str(), SSL_FILETYPE_PEM);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
  }
  ~TlsServerEnd() {
    if (thread_.joinable()) thread_.join();
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }
  // Runs script after the handshake, in the server thread.
  void run(std::function<void(SSL*)> script) {
    thread_ = std::thread([this, script = std::move(script)] {
      if (SSL_accept(ssl_) == 1) script(ssl_);
      done_ = true;
    });
  }
  void join() { thread_.join(); }
  void limitToTls12() { SSL_set_max_proto_version(ssl_, TLS1_2_VERSION); }
  bool done() const { return done_; }
  void closeSocket() {
    close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  SSL_CTX* ctx_;
  SSL* ssl_;
  std::thread thread_;
  std::atomic<bool> done_{false};
};

void sendSliced(BIO* records, int fd, std::string* held, std::mt19937* random, bool flush);

// Appends to out the records OpenSSL wrote into records (a memory BIO) since the last call.
void takeRecords(BIO* records, std::string* out) {
  char buffer[16384];
  int got;
  while ((got = BIO_read(records, buffer, sizeof buffer)) > 0) {
    out->append(buffer, static_cast<size_t>(got));
  }
}

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    base_ = event_base_new();
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    int big = 1 << 20;  // room for a whole answer while nobody reads
    setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    evutil_make_socket_nonblocking(fds[0]);
    server_ = std::make_unique<TlsServerEnd>(fds[1]);
    std::string error;
    ctx_ = createClientTlsContext(testCerts().ca_file, true, &error);
    ASSERT_NE(ctx_, nullptr) << error;
    client_fd_ = fds[0];
  }
  void TearDown() override {
    stream_.reset();
    server_.reset();
    SSL_CTX_free(ctx_);
    event_base_free(base_);
  }

  // Starts the server script and the client stream, and runs the handshake.
  void connect(std::function<void(SSL*)> script, size_t max_per_event = 256 * 1024) {
    server_->run(std::move(script));
    stream_ = std::make_unique<SocketStream>(base_, client_fd_, recorder_,
                                             newUpstreamSsl(ctx_, "localhost"));
    stream_->setReadLimits(0, max_per_event);
    ASSERT_TRUE(loopUntil([&] { return recorder_.events != 0; }));
    ASSERT_EQ(recorder_.events, BEV_EVENT_CONNECTED) << stream_->tls()->failure();
    recorder_.events = 0;
  }

 public:
  // connect() with a server that writes each of writes as its own records and sends them cut
  // into slices at a random pace (sendSliced).
  void connectSliced(const std::vector<std::string>& writes, size_t max_per_event, unsigned seed) {
    connect(
        [writes, seed](SSL* ssl) {
          BIO* records = BIO_new(BIO_s_mem());
          SSL_set0_wbio(ssl, records);  // after the handshake: records wait here until sent
          std::mt19937 random(seed);
          std::string held;
          for (const std::string& piece : writes) {
            SSL_write(ssl, piece.data(), static_cast<int>(piece.size()));
            sendSliced(records, SSL_get_fd(ssl), &held, &random, false);
          }
          sendSliced(records, SSL_get_fd(ssl), &held, &random, true);
        },
        max_per_event);
  }
  bool loopUntil(const std::function<bool()>& done, std::chrono::milliseconds deadline = 5s) {
    return runLoopUntil(base_, done, deadline);
  }
  size_t inputSize() const { return evbuffer_get_length(stream_->input()); }
  std::string input() const { return contentsOf(stream_->input()); }
  const StreamRecorder& recorder() const { return recorder_; }

 protected:
  event_base* base_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  int client_fd_ = -1;
  StreamRecorder recorder_;
  std::unique_ptr<TlsServerEnd> server_;
  std::unique_ptr<SocketStream> stream_;
};

// Ten 16 KiB records wait in the socket: one read call takes them all (OpenSSL reads ahead) and
// one event decrypts them all (not one or two records per event).
TEST_F(TlsStreamTest, EveryRecordWaitingInTheSocketIsOneReadAndOneEvent) {
  const std::string sent = pattern(160 * 1024);
  connect([&](SSL* ssl) { SSL_write(ssl, sent.data(), static_cast<int>(sent.size())); });
  server_->join();  // the whole answer is in the socket
  long overhead = readCallsSoFar();
  overhead = readCallsSoFar() - overhead;
  long before = readCallsSoFar();
  ASSERT_TRUE(loopUntil([&] { return inputSize() == sent.size(); }));
  long read_calls = readCallsSoFar() - before - overhead;
  EXPECT_TRUE(input() == sent);
  EXPECT_EQ(recorder_.reads, 1);
  EXPECT_LE(read_calls, 1);
}

// An event's budget leaves decrypted-later records in OpenSSL's buffer, which the socket will not
// announce again: they still arrive, also after reading was turned off and on.
TEST_F(TlsStreamTest, RecordsBeyondAnEventsBudgetStillArrive) {
  const std::string sent = pattern(160 * 1024);
  connect([&](SSL* ssl) { SSL_write(ssl, sent.data(), static_cast<int>(sent.size())); }, 20 * 1024);
  server_->join();
  bool paused = false;
  recorder_.on_read = [&] {
    if (recorder_.reads == 2) {
      stream_->disableRead();
      paused = true;
    }
  };
  ASSERT_TRUE(loopUntil([&] { return paused; }));
  size_t held = inputSize();
  loopUntil([] { return false; }, 50ms);
  EXPECT_EQ(inputSize(), held) << "nothing is read while reading is off";
  stream_->enableRead();
  ASSERT_TRUE(loopUntil([&] { return inputSize() == sent.size(); }));
  EXPECT_TRUE(input() == sent);
  EXPECT_GE(recorder_.reads, 8) << "at most 20 KiB per event";
}

// Sends the records OpenSSL wrote into records (a memory BIO) to fd in slices of 1 to 700 bytes
// with pauses of up to 300 µs, keeping up to 300 bytes back for the next call unless flushing: a
// slice may end inside a record's header or body, or carry one record's end and the next's start.
void sendSliced(BIO* records, int fd, std::string* held, std::mt19937* random, bool flush) {
  takeRecords(records, held);
  size_t keep = flush ? 0 : std::min<size_t>(held->size(), (*random)() % 300);
  size_t at = 0;
  while (at < held->size() - keep) {
    size_t slice = std::min<size_t>(1 + (*random)() % 700, held->size() - keep - at);
    if (write(fd, held->data() + at, slice) != static_cast<ssize_t>(slice)) return;
    at += slice;
    std::this_thread::sleep_for(std::chrono::microseconds((*random)() % 300));
  }
  held->erase(0, at);
}

// An answer dripped as the simulator's slow-drip sends it (24 writes of 5,000 bytes, then 253),
// after a few small records, with the records' bytes reaching the socket cut anywhere and at any
// pace: every byte arrives, whatever the event budget.
void expectSlicedRecordsArrive(TlsStreamTest& test, size_t max_per_event, unsigned seed) {
  std::vector<std::string> writes = {"x", pattern(17), pattern(16385)};
  for (int i = 0; i < 24; ++i) writes.push_back(pattern(5000));
  writes.push_back(pattern(253));
  std::string sent;
  for (const std::string& piece : writes) sent += piece;
  test.connectSliced(writes, max_per_event, seed);
  ASSERT_TRUE(test.loopUntil([&] { return test.inputSize() == sent.size(); }, 10s))
      << test.inputSize() << " of " << sent.size() << " bytes (seed " << seed << ")";
  EXPECT_TRUE(test.input() == sent);
  EXPECT_EQ(test.recorder().events, 0);
}

TEST_F(TlsStreamTest, RecordsCutAnywhereAndDrippedAllArriveWithTheDefaultBudget) {
  expectSlicedRecordsArrive(*this, 256 * 1024, 20261202);
}

TEST_F(TlsStreamTest, RecordsCutAnywhereAndDrippedAllArriveWithA4KiBBudget) {
  expectSlicedRecordsArrive(*this, 4096, 7);
}

// Part of a record that followed the data waits in OpenSSL, where input() does not show it: the
// stream says bytes may be waiting (an upstream connection is then not reused), until the record
// is whole and decrypted.
TEST_F(TlsStreamTest, PartOfARecordHeldByOpenSslIsInputThatMayBeWaiting) {
  std::atomic<int> stage{0};  // 1: send half of the second record, 2: the rest
  connect([&](SSL* ssl) {
    BIO* records = BIO_new(BIO_s_mem());
    SSL_set0_wbio(ssl, records);
    int fd = SSL_get_fd(ssl);
    std::string bytes;
    SSL_write(ssl, "first", 5);
    takeRecords(records, &bytes);
    EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    bytes.clear();
    SSL_write(ssl, "second", 6);
    takeRecords(records, &bytes);
    while (stage < 1) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(write(fd, bytes.data(), 10), 10);
    while (stage < 2) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(write(fd, bytes.data() + 10, bytes.size() - 10),
              static_cast<ssize_t>(bytes.size() - 10));
  });
  ASSERT_TRUE(loopUntil([&] { return input() == "first"; }));
  loopUntil([] { return false; }, 20ms);
  EXPECT_FALSE(stream_->mayHoldUnreadInput()) << "everything sent was decrypted";
  stage = 1;
  EXPECT_TRUE(loopUntil([&] { return stream_->mayHoldUnreadInput(); }));
  EXPECT_EQ(input(), "first");
  stage = 2;
  ASSERT_TRUE(loopUntil([&] { return input() == "firstsecond"; }));
  EXPECT_FALSE(stream_->mayHoldUnreadInput());
}

// The data and the end come in one read: the data reaches the handler first, then the end, with
// whether the peer sent close_notify.
TEST_F(TlsStreamTest, DataBeforeCloseNotifyArrivesBeforeTheEnd) {
  connect([&](SSL* ssl) {
    SSL_write(ssl, "all of it", 9);
    SSL_shutdown(ssl);
  });
  server_->join();
  server_->closeSocket();
  ASSERT_TRUE(loopUntil([&] { return recorder_.events != 0; }));
  EXPECT_EQ(recorder_.events, BEV_EVENT_READING | BEV_EVENT_EOF);
  EXPECT_GE(recorder_.reads_at_first_event, 1) << "the data came first";
  EXPECT_EQ(input(), "all of it");
  EXPECT_TRUE(stream_->tls()->closedWithNotify());
}

TEST_F(TlsStreamTest, DataBeforeACutArrivesBeforeTheEnd) {
  connect([&](SSL* ssl) { SSL_write(ssl, "part of it", 10); });
  server_->join();
  server_->closeSocket();  // a FIN without close_notify
  ASSERT_TRUE(loopUntil([&] { return recorder_.events != 0; }));
  EXPECT_EQ(recorder_.events, BEV_EVENT_READING | BEV_EVENT_EOF);
  EXPECT_GE(recorder_.reads_at_first_event, 1) << "the data came first";
  EXPECT_EQ(input(), "part of it");
  EXPECT_FALSE(stream_->tls()->closedWithNotify());
}

// 4 MiB is more than the socket holds while the server does not read: the stream waits for the
// socket and finishes once the server reads, every byte in order.
TEST_F(TlsStreamTest, WritesMoreThanTheSocketHolds) {
  const std::string sent = pattern(4 << 20);
  std::string received;
  std::atomic<bool> may_read{false};
  connect([&](SSL* ssl) {
    while (!may_read) std::this_thread::sleep_for(1ms);
    char buffer[65536];
    while (received.size() < sent.size()) {
      int got = SSL_read(ssl, buffer, sizeof buffer);
      if (got <= 0) break;
      received.append(buffer, static_cast<size_t>(got));
    }
  });
  evbuffer_add(stream_->output(), sent.data(), sent.size());
  stream_->flushSoon();
  loopUntil([] { return false; }, 50ms);
  EXPECT_GT(evbuffer_get_length(stream_->output()), 0u) << "the socket is full";
  EXPECT_EQ(recorder_.written, 0);
  may_read = true;
  ASSERT_TRUE(loopUntil([&] { return recorder_.written > 0; }));
  EXPECT_EQ(evbuffer_get_length(stream_->output()), 0u);
  ASSERT_TRUE(loopUntil([&] { return server_->done(); }));
  EXPECT_EQ(recorder_.events, 0);
  EXPECT_TRUE(received == sent);
}

// 1 MiB of output is 64 TLS records: they leave in batches, a few writev calls (one per record
// before, with send, which /proc/self/io does not even count).
TEST_F(TlsStreamTest, OutputLeavesInBatchesOfRecords) {
  const std::string sent = pattern(1 << 20);
  std::string received;
  connect([&](SSL* ssl) {
    char buffer[65536];
    while (received.size() < sent.size()) {
      int got = SSL_read(ssl, buffer, sizeof buffer);
      if (got <= 0) break;
      received.append(buffer, static_cast<size_t>(got));
    }
  });
  long before = writeCallsSoFar();
  evbuffer_add(stream_->output(), sent.data(), sent.size());
  stream_->flushSoon();
  ASSERT_TRUE(loopUntil([&] { return recorder_.written > 0; }));
  long write_calls = writeCallsSoFar() - before;
  ASSERT_TRUE(loopUntil([&] { return server_->done(); }));
  EXPECT_TRUE(received == sent);
  EXPECT_GE(write_calls, 1);
  EXPECT_LE(write_calls, 32) << "64 records";
  EXPECT_EQ(stream_->pendingOutput(), 0u);
}

// A TLS 1.2 server renegotiates in the middle of the stream: the handshake messages OpenSSL writes
// while the stream reads are sent, output written meanwhile waits for the new handshake (OpenSSL
// must read first), and both directions carry on.
TEST_F(TlsStreamTest, ARenegotiationInTheMiddleOfTheStreamCompletes) {
  server_->limitToTls12();
  std::string received;
  std::atomic<int> still_pending{-1};
  connect([&](SSL* ssl) {
    SSL_renegotiate(ssl);
    SSL_do_handshake(ssl);  // sends the HelloRequest
    SSL_write(ssl, "first", 5);
    char buffer[64];
    int got = SSL_read(ssl, buffer, sizeof buffer);  // the new handshake, then the client's data
    if (got > 0) received.assign(buffer, static_cast<size_t>(got));
    still_pending = SSL_renegotiate_pending(ssl);
  });
  ASSERT_TRUE(loopUntil([&] { return input() == "first"; }));
  evbuffer_add(stream_->output(), "second", 6);
  stream_->flushSoon();
  ASSERT_TRUE(loopUntil([&] { return server_->done(); }));
  EXPECT_EQ(received, "second");
  EXPECT_EQ(still_pending, 0) << "the renegotiation completed";
  EXPECT_EQ(recorder_.events, 0);
}

// Counts the KeyUpdate messages an SSL receives (its message callback).
void countKeyUpdatesReceived(int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                             void* count) {
  const auto* message = static_cast<const unsigned char*>(buf);
  if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
      message[0] == SSL3_MT_KEY_UPDATE) {
    ++*static_cast<std::atomic<int>*>(count);
  }
}

// A TLS 1.3 server updates its keys and asks the client to update its own: the stream decrypts what
// follows with the new keys, its next write carries the client's KeyUpdate ahead of the data, and
// both directions carry on under the new keys.
TEST_F(TlsStreamTest, AKeyUpdateThatAsksForTheClientsKeyUpdateCompletes) {
  std::string received;
  std::atomic<bool> updated{false};
  std::atomic<int> version{0};
  std::atomic<int> client_key_updates{0};
  connect([&](SSL* ssl) {
    version = SSL_version(ssl);
    SSL_set_msg_callback(ssl, countKeyUpdatesReceived);
    SSL_set_msg_callback_arg(ssl, &client_key_updates);
    updated = SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) == 1;
    SSL_write(ssl, "first", 5);  // the KeyUpdate goes out ahead of it
    char buffer[64];
    int got = SSL_read(ssl, buffer, sizeof buffer);  // the client's KeyUpdate, then its data
    if (got > 0) received.assign(buffer, static_cast<size_t>(got));
    SSL_write(ssl, "third", 5);
  });
  ASSERT_TRUE(loopUntil([&] { return input() == "first"; }));
  evbuffer_add(stream_->output(), "second", 6);
  stream_->flushSoon();
  ASSERT_TRUE(loopUntil([&] { return input() == "firstthird"; }));
  ASSERT_TRUE(loopUntil([&] { return server_->done(); }));
  EXPECT_EQ(version, TLS1_3_VERSION);
  EXPECT_TRUE(updated);
  EXPECT_EQ(received, "second");
  EXPECT_EQ(client_key_updates, 1) << "the client updated its keys as asked";
  EXPECT_EQ(recorder_.events, 0);
}

}  // namespace
}  // namespace arkroute::http::testing
