// The PlainAndTls fixture (see plain_and_tls.h).
#include "integration/plain_and_tls.h"

namespace arkroute::testing {

std::unique_ptr<Simulator> PlainAndTls::startSimulator(std::vector<std::string> extra_args) {
  if (tls()) {
    if (!have_certificate_) have_certificate_ = makeCertificate(certs_, "localhost");
    if (!have_certificate_) {
      ADD_FAILURE() << "openssl could not make a certificate";
      return nullptr;
    }
    extra_args.insert(extra_args.end(),
                      {"--tls-cert", certs_.file("cert.pem"), "--tls-key", certs_.file("key.pem")});
  }
  auto sim = std::make_unique<Simulator>(std::move(extra_args));
  EXPECT_NE(sim->port(), 0) << "the simulator did not start";
  return sim;
}

GatewayOptions PlainAndTls::optionsFor(const Simulator& sim,
                                       std::string extra_upstream_toml) const {
  GatewayOptions options;
  if (!tls()) {
    options.upstream_base_url = sim.baseUrl();
    options.extra_upstream_toml = std::move(extra_upstream_toml);
    return options;
  }
  options.upstream_base_url = "https://localhost:" + std::to_string(sim.port()) + "/v1";
  options.extra_upstream_toml =
      "ca_file = \"" + certs_.file("cert.pem") + "\"\n" + std::move(extra_upstream_toml);
  return options;
}

std::string plainOrTlsName(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Tls" : "Plain";
}

}  // namespace arkroute::testing
