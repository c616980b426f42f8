// HTTPS upstreams: verified handshakes against a test CA, SNI for names (not for addresses),
// hostname and trust failures reported with OpenSSL's reason, keep-alive reuse and pause/resume
// over TLS, reading many records per system call, session resumption within a pool only, and
// createClientTlsContext's own errors.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http/upstream.h"
#include "unit/proxy/http/read_calls.h"
#include "unit/proxy/http/upstream_test_server.h"
#include "unit/proxy/http/upstream_test_support.h"

namespace arkroute::http::testing {
namespace {

using namespace std::chrono_literals;
using Kind = UpstreamError::Kind;

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

SslCtx clientContext(const std::string& ca_file, bool verify = true) {
  std::string error;
  SslCtx ctx(createClientTlsContext(ca_file, verify, &error));
  EXPECT_TRUE(ctx) << error;
  return ctx;
}

TestServer::Tls localhostCert() {
  return {testCerts().localhost_cert, testCerts().localhost_key};
}

// A TLS test: a server with the given certificate, a loopback resolver that knows "localhost",
// and a pool for host.
struct TlsSetup {
  TlsSetup(const TestServer::Tls& cert, const std::string& host, SslCtx client_ctx,
           TestServer::Handler handler = TestServer::echoTarget(), PoolOptions options = {})
      : server(std::move(handler), &cert),
        dns(loop.base(), {{"localhost", "127.0.0.1"}}),
        ctx(std::move(client_ctx)) {
    loop.useNameserver(dns.port());
    UpstreamEndpoint endpoint = endpointFor(server.port(), host);
    endpoint.tls = true;
    endpoint.ssl_ctx = ctx.get();
    pool = std::make_unique<UpstreamPool>(loop.base(), loop.dns(), endpoint, options);
  }
  ~TlsSetup() { pool.reset(); }

  RecordingHandler fetch(const std::string& path) {
    RecordingHandler handler;
    auto call = pool->start(requestFor(path), &handler);
    EXPECT_TRUE(loop.runUntil([&] { return handler.finished(); }));
    return handler;
  }

  TestServer server;
  EventLoop loop;
  FakeDns dns;
  SslCtx ctx;
  std::unique_ptr<UpstreamPool> pool;
};

TEST(UpstreamTls, VerifiedHandshakeByIpAddressSendsNoSni) {
  TlsSetup setup(localhostCert(), "127.0.0.1", clientContext(testCerts().ca_file));
  RecordingHandler handler = setup.fetch("/v1/models");
  ASSERT_TRUE(handler.completed) << handler.error->message;
  EXPECT_EQ(handler.status, 200);
  EXPECT_EQ(handler.body, "/v1/models");
  ASSERT_EQ(setup.server.serverNames().size(), 1u);
  EXPECT_EQ(setup.server.serverNames()[0], "");
}

TEST(UpstreamTls, VerifiedHandshakeByNameSendsSniAndReusesTheConnection) {
  TlsSetup setup(localhostCert(), "localhost", clientContext(testCerts().ca_file));
  for (int i = 0; i < 3; ++i) {
    RecordingHandler handler = setup.fetch("/r" + std::to_string(i));
    ASSERT_TRUE(handler.completed) << handler.error->message;
    EXPECT_EQ(handler.body, "/r" + std::to_string(i));
  }
  ASSERT_EQ(setup.server.serverNames().size(), 1u);
  EXPECT_EQ(setup.server.serverNames()[0], "localhost");
  EXPECT_EQ(setup.server.accepted(), 1);
}

// A server that answers one request per connection and records whether each handshake resumed
// an earlier session.
TestServer::Handler closingAfterEachAnswer(std::mutex* mutex, std::vector<bool>* resumed) {
  return [mutex, resumed](ServerConnection& connection) {
    {
      std::lock_guard lock(*mutex);
      resumed->push_back(connection.resumedSession());
    }
    ReceivedRequest request;
    if (!connection.readRequest(&request)) return;
    connection.write(httpResponse(200, request.target, "Connection: close\r\n"));
    connection.closeNotify();
  };
}

// Fetches count answers from a provider that closes every connection; whether each connection's
// handshake resumed a session, in order.
std::vector<bool> resumptionsOverNewConnections(const TestServer::Tls& tls, int count) {
  std::mutex mutex;
  std::vector<bool> resumed;
  TlsSetup setup(tls, "localhost", clientContext(testCerts().ca_file),
                 closingAfterEachAnswer(&mutex, &resumed));
  for (int i = 0; i < count; ++i) {
    RecordingHandler handler = setup.fetch("/r" + std::to_string(i));
    EXPECT_TRUE(handler.completed) << (handler.error ? handler.error->message : "");
    if (!handler.completed) break;
    EXPECT_EQ(handler.body, "/r" + std::to_string(i));
  }
  std::lock_guard lock(mutex);
  return resumed;
}

// The provider closes every connection: each new one resumes the pool's last session instead of
// a full handshake with the certificate chain.
TEST(UpstreamTls, NewConnectionsResumeThePoolsSession) {
  EXPECT_EQ(resumptionsOverNewConnections(localhostCert(), 3),
            (std::vector<bool>{false, true, true}));
}

// A TLS 1.2 provider (session IDs and tickets of the older protocol, the server's Finished last):
// served, and its sessions resumed too.
TEST(UpstreamTls, Tls12ProviderIsServedAndResumed) {
  TestServer::Tls tls12 = localhostCert();
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_EQ(resumptionsOverNewConnections(tls12, 2), (std::vector<bool>{false, true}));
}

// A session stands for the checks made for one host: a pool for another name, even on the same
// TLS context and server, starts with a full handshake (and its own certificate check).
TEST(UpstreamTls, ASessionIsNeverOfferedToAnotherHostsPool) {
  std::mutex mutex;
  std::vector<bool> resumed;
  TlsSetup setup(localhostCert(), "localhost", clientContext(testCerts().ca_file),
                 closingAfterEachAnswer(&mutex, &resumed));
  ASSERT_TRUE(setup.fetch("/first").completed);
  UpstreamEndpoint by_address = endpointFor(setup.server.port(), "127.0.0.1");
  by_address.tls = true;
  by_address.ssl_ctx = setup.ctx.get();
  auto other_pool = std::make_unique<UpstreamPool>(setup.loop.base(), setup.loop.dns(), by_address,
                                                   PoolOptions{});
  RecordingHandler handler;
  auto call = other_pool->start(requestFor("/other"), &handler);
  ASSERT_TRUE(setup.loop.runUntil([&] { return handler.finished(); }));
  EXPECT_TRUE(handler.completed);
  call.reset();
  other_pool.reset();
  std::lock_guard lock(mutex);
  EXPECT_EQ(resumed, (std::vector<bool>{false, false}));
}

TEST(UpstreamTls, CertificateForAnotherNameIsAHostnameMismatch) {
  TestServer::Tls other{testCerts().other_cert, testCerts().other_key};
  TlsSetup setup(other, "localhost", clientContext(testCerts().ca_file));
  RecordingHandler handler = setup.fetch("/");
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kTls);
  EXPECT_EQ(handler.error->message, "TLS certificate verify failed: hostname mismatch");
  EXPECT_FALSE(handler.error->head_received);
}

TEST(UpstreamTls, UntrustedCertificateFailsAgainstTheSystemStore) {
  TlsSetup setup(localhostCert(), "localhost", clientContext(""));
  RecordingHandler handler = setup.fetch("/");
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kTls);
  EXPECT_EQ(handler.error->message.rfind("TLS certificate verify failed: ", 0), 0u)
      << handler.error->message;
}

TEST(UpstreamTls, VerificationOffAcceptsAnUntrustedCertificate) {
  TlsSetup setup(localhostCert(), "localhost", clientContext("", false));
  RecordingHandler handler = setup.fetch("/insecure");
  ASSERT_TRUE(handler.completed) << handler.error->message;
  EXPECT_EQ(handler.body, "/insecure");
}

TEST(UpstreamTls, PlainHttpServerIsATlsError) {
  TestServer plain([](ServerConnection& connection) {
    connection.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    connection.waitForClose(5s);
  });
  EventLoop loop;
  SslCtx ctx = clientContext(testCerts().ca_file);
  UpstreamEndpoint endpoint = endpointFor(plain.port());
  endpoint.tls = true;
  endpoint.ssl_ctx = ctx.get();
  auto pool = std::make_unique<UpstreamPool>(loop.base(), loop.dns(), endpoint, PoolOptions{});
  RecordingHandler handler;
  auto call = pool->start(requestFor("/"), &handler);
  ASSERT_TRUE(loop.runUntil([&] { return handler.finished(); }));
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kTls);
  EXPECT_EQ(handler.error->message.rfind("TLS handshake failed: ", 0), 0u)
      << handler.error->message;
  EXPECT_NE(handler.error->message.find("does not speak TLS on this port"), std::string::npos)
      << handler.error->message;
  call.reset();
  pool.reset();
}

// Over TLS a close-delimited body is whole only when close_notify came before the FIN; a bare
// FIN may be an attacker's or a middlebox's cut.
RecordingHandler fetchCloseDelimited(bool close_notify) {
  TlsSetup setup(localhostCert(), "localhost", clientContext(testCerts().ca_file),
                 [close_notify](ServerConnection& connection) {
                   ReceivedRequest request;
                   if (!connection.readRequest(&request)) return;
                   connection.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it");
                   if (close_notify) {
                     connection.closeNotify();
                   } else {
                     connection.close();
                   }
                 });
  return setup.fetch("/");
}

TEST(UpstreamTls, CloseDelimitedBodyEndedByCloseNotifyIsComplete) {
  RecordingHandler handler = fetchCloseDelimited(true);
  ASSERT_TRUE(handler.completed) << handler.error->message;
  EXPECT_EQ(handler.body, "all of it");
}

TEST(UpstreamTls, CloseDelimitedBodyEndedWithoutCloseNotifyIsNotComplete) {
  RecordingHandler handler = fetchCloseDelimited(false);
  EXPECT_FALSE(handler.completed);
  ASSERT_TRUE(handler.error);
  EXPECT_EQ(handler.error->kind, Kind::kReset);
  EXPECT_EQ(handler.error->message,
            "connection closed without TLS close_notify before the response body was known "
            "complete");
  EXPECT_EQ(handler.body, "all of it");
}

TEST(UpstreamTls, PauseAndResumeDeliverEveryByteOverTls) {
  std::string body(1024 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  TlsSetup setup(localhostCert(), "localhost", clientContext(testCerts().ca_file),
                 [&](ServerConnection& connection) {
                   ReceivedRequest request;
                   while (connection.readRequest(&request)) {
                     connection.write(httpResponse(200, body));
                   }
                 });
  RecordingHandler handler;
  std::unique_ptr<UpstreamCall> call;
  bool paused = false;
  handler.on_body = [&] {
    call->pauseReading();
    paused = true;
  };
  call = setup.pool->start(requestFor("/tls-big"), &handler);
  for (int pauses = 0; !handler.finished(); ++pauses) {
    ASSERT_TRUE(setup.loop.runUntil([&] { return paused || handler.finished(); }));
    if (!paused) break;
    size_t held = handler.body.size();
    setup.loop.runFor(pauses < 3 ? 50ms : 1ms);
    ASSERT_EQ(handler.body.size(), held);
    paused = false;
    call->resumeReading();
  }
  ASSERT_TRUE(handler.completed);
  EXPECT_TRUE(handler.body == body);
  call.reset();
  RecordingHandler again = setup.fetch("/again");  // still a clean keep-alive connection
  EXPECT_EQ(again.body.size(), body.size());
  EXPECT_EQ(setup.server.accepted(), 1);
}

// An answer of several TLS records that is already in the socket is taken in one read (OpenSSL's
// read-ahead), not two per record (its 5-byte header, then the rest), and every record is
// delivered although the socket has nothing left to announce them.
TEST(UpstreamTls, AnAnswerWaitingInTheSocketIsReadInOneCall) {
  std::string body(48 * 1024, '\0');  // three full 16 KiB records after the head
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  std::atomic<int> requested{0}, answered{0};
  std::atomic<bool> may_answer{true};
  TlsSetup setup(localhostCert(), "localhost", clientContext(testCerts().ca_file),
                 [&](ServerConnection& connection) {
                   ReceivedRequest request;
                   while (connection.readRequest(&request)) {
                     ++requested;
                     while (!may_answer) std::this_thread::sleep_for(1ms);
                     connection.write(httpResponse(200, body));
                     ++answered;
                   }
                 });
  ASSERT_EQ(setup.fetch("/handshake").body, body);  // the connection is up and back in the pool
  may_answer = false;
  RecordingHandler handler;
  auto call = setup.pool->start(requestFor("/again"), &handler);
  ASSERT_TRUE(setup.loop.runUntil([&] { return requested == 2; }));
  may_answer = true;  // the whole answer goes into the socket while this loop does not run
  for (int i = 0; i < 500 && answered < 2; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(answered, 2);
  std::this_thread::sleep_for(20ms);  // the last bytes cross loopback
  long overhead = readCallsSoFar();
  overhead = readCallsSoFar() - overhead;
  long before = readCallsSoFar();
  ASSERT_TRUE(setup.loop.runUntil([&] { return handler.finished(); }));
  long read_calls = readCallsSoFar() - before - overhead;
  ASSERT_TRUE(handler.completed);
  EXPECT_TRUE(handler.body == body);
  EXPECT_LE(read_calls, 2) << "two per record would be 8";
  call.reset();
}

// An answer that fills a read event's budget exactly (4 KiB decrypted here) completes in that
// event while OpenSSL may already hold the records the provider sent after it, which nobody asked
// for: the connection must not carry the request waiting for it, which would take them for its
// answer. (UpstreamPool.BytesAfterAnAnswer... is the same over plain TCP.)
TEST(UpstreamTls, BytesAfterAnAnswerThatFillsAReadAreNeverTheNextRequestsAnswer) {
  PoolOptions options;
  options.max_connections = 1;
  options.max_single_io = 4096;
  SizedAnswer answer = answerOfSize(options.max_single_io);
  TlsSetup setup(localhostCert(), "localhost", clientContext(testCerts().ca_file),
                 TestServer::answerThenStray(answer.text), options);
  RecordingHandler first, second;
  auto first_call = setup.pool->start(requestFor("/first"), &first);
  auto second_call = setup.pool->start(requestFor("/second"), &second);  // waits for the connection
  ASSERT_TRUE(setup.loop.runUntil([&] { return first.finished() && second.finished(); }));
  ASSERT_TRUE(first.completed);
  EXPECT_TRUE(first.body == answer.body);
  ASSERT_TRUE(second.completed) << second.error->message;
  EXPECT_EQ(second.body, "second") << "the bytes after the first answer";
  EXPECT_EQ(setup.server.accepted(), 2);
}

TEST(UpstreamTls, ClientContextReportsAnUnreadableCaFile) {
  std::string error;
  SSL_CTX* ctx = createClientTlsContext("/nonexistent/arkroute-ca.pem", true, &error);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_NE(error.find("/nonexistent/arkroute-ca.pem"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST(UpstreamTls, ClientContextRejectsAFileWithoutCertificates) {
  std::string error;
  SSL_CTX* ctx = createClientTlsContext(testCerts().localhost_key, true, &error);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_NE(error.find("cannot load ca_file"), std::string::npos) << error;
}

TEST(UpstreamTls, ClientContextRequiresTls12AndVerifies) {
  SslCtx ctx = clientContext(testCerts().ca_file);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER);
}

}  // namespace
}  // namespace arkroute::http::testing
