// PlainAndTls: a fixture for tests run against the simulator both over plain HTTP and over HTTPS
// (its TLS mode, with a fresh self-signed certificate for localhost that the gateway is told to
// trust), so that what a client sees is checked to be the same either way.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace arkroute::testing {

class PlainAndTls : public ::testing::TestWithParam<bool> {
 protected:
  bool tls() const { return GetParam(); }
  // The simulator with extra_args, serving HTTPS when tls(); nullptr (and a test failure) when the
  // certificate could not be made.
  std::unique_ptr<Simulator> startSimulator(std::vector<std::string> extra_args = {});
  // The gateway options reaching sim: its base URL (https://localhost:PORT/v1 over TLS) and,
  // over TLS, the ca_file line ahead of extra_upstream_toml.
  GatewayOptions optionsFor(const Simulator& sim, std::string extra_upstream_toml = "") const;

 private:
  TempDir certs_;
  bool have_certificate_ = false;
};

// The instantiation's test names: "Plain" and "Tls".
std::string plainOrTlsName(const ::testing::TestParamInfo<bool>& info);

}  // namespace arkroute::testing
