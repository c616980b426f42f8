// Integration: HTTPS upstreams — the chain is verified against ca_file, the hostname is checked,
// a failed verification is a 502 that says why, and answers that trickle in or are cut off arrive
// over TLS as they do over plain HTTP.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

const char kTlsBody[] = R"({"model":"gpt-image-1","prompt":"over tls"})";

// The simulator serving HTTPS with the certificate in certs.
std::vector<std::string> tlsSimulatorArgs(const TempDir& certs) {
  return {"--tls-cert", certs.file("cert.pem"), "--tls-key", certs.file("key.pem")};
}

// A gateway whose upstream is https://localhost:PORT, trusting the certificate in certs.
GatewayOptions trustingLocalhost(const TempDir& certs, uint16_t sim_port) {
  return GatewayOptions{
      .upstream_base_url = "https://localhost:" + std::to_string(sim_port) + "/v1",
      .extra_upstream_toml = "ca_file = \"" + certs.file("cert.pem") + "\"\n"};
}

TEST(UpstreamTls, VerifiedConnectionServesTheRequest) {
  TempDir certs;
  ASSERT_TRUE(makeCertificate(certs, "localhost"));
  Simulator sim(tlsSimulatorArgs(certs));
  ASSERT_NE(sim.port(), 0);
  Gateway gateway(trustingLocalhost(certs, sim.port()));
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", kTlsBody);
  ASSERT_EQ(response.status, 200) << response.body;
  auto image = json::parse(response.body)["data"][0]["b64_json"].get<std::string>();
  EXPECT_TRUE(looksLikePng(base64Decode(image)));
}

// The gateway reads TLS records ahead and decrypts the ones waiting in OpenSSL's buffer without a
// new socket event: an answer dripped in pieces smaller than a record still arrives whole and
// byte for byte, and one cut off mid-body still reaches the client cut, never complete.
TEST(UpstreamTls, DrippedAnswersArriveWholeAndCutOnesStayCut) {
  TempDir certs;
  ASSERT_TRUE(makeCertificate(certs, "localhost"));
  std::vector<std::string> args = tlsSimulatorArgs(certs);
  args.insert(args.end(), {"--payload-bytes", "120000"});
  Simulator sim(args);
  ASSERT_NE(sim.port(), 0);
  Gateway gateway(trustingLocalhost(certs, sim.port()));
  HttpResponse whole = httpPostJson(gateway.port(), "/v1/images/generations", kTlsBody);
  ASSERT_EQ(whole.status, 200) << whole.body;
  ASSERT_GT(whole.body.size(), 100000u);
  auto pending = std::async(std::launch::async, [&] {
    return httpPostJson(
        gateway.port(), "/v1/images/generations", kTlsBody,
        {{"x-sim-fault", "slow-drip"}, {"x-sim-drip-bytes", "5000"}, {"x-sim-drip-ms", "1"}});
  });
  // It takes ~30 ms. A stall (seen once in CI, never reproduced) is reported while it lasts: which
  // socket holds the missing bytes in the kernel, if any.
  std::string stall_report;
  if (pending.wait_for(10s) != std::future_status::ready) {
    stall_report = "simulator :" + std::to_string(sim.port()) +
                   ", gateway :" + std::to_string(gateway.port()) + "\n" +
                   tcpQueues({sim.port(), gateway.port()});
  }
  HttpResponse dripped = pending.get();
  ASSERT_EQ(dripped.status, 200) << dripped.error << "\n" << stall_report;
  EXPECT_TRUE(dripped.complete) << dripped.error << "\n" << stall_report;
  EXPECT_TRUE(dripped.body == whole.body) << dripped.body.size() << " of " << whole.body.size();
  EXPECT_EQ(stall_report, "");
  HttpResponse cut = httpPostJson(gateway.port(), "/v1/images/generations", kTlsBody,
                                  {{"x-sim-fault", "reset-mid-body"}});
  EXPECT_EQ(cut.status, 200);
  EXPECT_FALSE(cut.complete) << "a cut upstream body must never look complete";
  EXPECT_LT(cut.body.size(), whole.body.size());
  EXPECT_EQ(httpPostJson(gateway.port(), "/v1/images/generations", kTlsBody).status, 200);
}

TEST(UpstreamTls, HostnameMismatchIsRejectedWith502SayingSo) {
  TempDir certs;
  ASSERT_TRUE(makeCertificate(certs, "some-other-host.example"));
  Simulator sim(tlsSimulatorArgs(certs));
  Gateway gateway(trustingLocalhost(certs, sim.port()));
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", kTlsBody);
  EXPECT_EQ(response.status, 502);
  json error = json::parse(response.body)["error"];
  EXPECT_EQ(error["code"], "upstream_tls_error");
  EXPECT_NE(error["message"].get<std::string>().find("hostname mismatch"), std::string::npos)
      << error["message"];
  EXPECT_EQ(sim.requests(), 0);
}

TEST(UpstreamTls, UntrustedCertificateIsRejectedByDefault) {
  TempDir certs;
  ASSERT_TRUE(makeCertificate(certs, "localhost"));
  Simulator sim(tlsSimulatorArgs(certs));
  Gateway gateway(GatewayOptions{.upstream_base_url =
                                     "https://localhost:" + std::to_string(sim.port()) + "/v1"});
  HttpResponse response = httpPostJson(gateway.port(), "/v1/images/generations", kTlsBody);
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "upstream_tls_error");
  EXPECT_EQ(sim.requests(), 0);
}

}  // namespace
}  // namespace arkroute::testing
