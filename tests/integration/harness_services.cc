// Simulator and gateway processes with generated configs, for integration tests.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Simulator::Simulator(std::vector<std::string> extra_args)
    : process_([&] {
        std::vector<std::string> argv = {ARKROUTE_SIM_BIN, "--listen", "127.0.0.1:0",
                                         "--payload-bytes", "20000"};
        argv.insert(argv.end(), extra_args.begin(), extra_args.end());
        return argv;
      }()) {
  port_ = process_.waitListening();
}

std::string Simulator::baseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

int Simulator::requests(const std::string& path) {
  auto stats = nlohmann::json::parse(httpGet(port_, "/_sim/stats").body, nullptr, false);
  if (!stats.is_object() || !stats["requests"].contains(path)) return 0;
  return stats["requests"][path].get<int>();
}

int Simulator::connectionsAccepted() {
  auto stats = nlohmann::json::parse(httpGet(port_, "/_sim/stats").body, nullptr, false);
  // The stats request itself arrived on a new connection: do not count it.
  return stats.is_object() ? stats.value("connections_accepted", 0) - 1 : -1;
}

void Simulator::reset() {
  httpPostJson(port_, "/_sim/reset", "{}");
}

std::string Simulator::lastRequestJson() {
  return httpGet(port_, "/_sim/last-request").body;
}

bool makeCertificate(const TempDir& dir, const std::string& name) {
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 2 -subj /CN=" +
      name + " -addext subjectAltName=DNS:" + name + " -keyout " + dir.file("key.pem") + " -out " +
      dir.file("cert.pem") + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

Gateway::Gateway(GatewayOptions options) : options_(std::move(options)) {
  config_path_ = dir_.file("arkroute.toml");
  std::string models = options_.models_toml.empty()
                           ? "\n[[model]]\nname = \"gpt-image-1\"\nupstream = \"sim\"\n"
                             "\n[[model]]\nname = \"seedream-4.5\"\nupstream = \"sim\"\n"
                             "upstream_model = \"seedream-4-5-251128\"\n\n"
                           : "\n" + options_.models_toml + "\n";
  std::string toml =
      "[server]\nlisten = \"127.0.0.1:0\"\nworkers = " + std::to_string(options_.workers) + "\n" +
      options_.server_toml + "\n[auth]\n" + options_.auth_toml + "\n[cache]\npath = \"" +
      (options_.cache_path.empty() ? dir_.file("cache") : options_.cache_path) + "\"\n" +
      options_.cache_toml + "\n[log]\n" + options_.log_toml +
      "\n[[upstream]]\nname = \"sim\"\nbase_url = \"" + options_.upstream_base_url + "\"\n" +
      options_.extra_upstream_toml + models + options_.extra_toml;
  writeFile(config_path_, toml);
  launch();
}

void Gateway::launch() {
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{ARKROUTE_BIN, "serve", "--config", config_path_}, options_.env);
  port_ = process_->waitListening();
}

void Gateway::restart(int signal_number) {
  process_->signal(signal_number);
  process_->waitExit(15s);
  launch();
}

std::vector<nlohmann::json> stopAndReadAccessLog(Gateway& gateway, const std::string& log_path) {
  gateway.process().signal(SIGTERM);
  int status = gateway.process().waitExit(std::chrono::seconds(15));
  if (status != 0) ADD_FAILURE() << "the gateway exited with " << status;
  std::istringstream lines(readFile(log_path));
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

double chargedUsd(uint16_t port, int requests) {
  nlohmann::json totals;
  for (int i = 0; i < 250; ++i) {
    totals = nlohmann::json::parse(httpGet(port, "/v1/usage").body)["totals"];
    if (totals["requests"] == requests) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(totals["requests"], requests) << totals;
  return totals.value("cost_usd", -1.0);
}

}  // namespace arkroute::testing
