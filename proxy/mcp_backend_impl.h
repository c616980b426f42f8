// The gateway's implementation of mcp::McpBackend: generate_image and edit_image run through the
// very pipeline POST /v1/images/generations and /v1/images/edits use (an InternalExchange on the
// calling worker), and models, prices and estimates come from the config's price tables.
#pragma once

#include "proxy/http/server.h"
#include "proxy/mcp/mcp_backend.h"

namespace arkroute {

class Worker;

class GatewayMcpBackend : public mcp::McpBackend {
 public:
  explicit GatewayMcpBackend(Worker& worker) : worker_(worker) {}

  void generateImage(std::string request_json, std::string authorization,
                     std::function<void(mcp::GenerationOutcome)> done) override;
  void editImage(mcp::EditImageRequest request, std::string authorization,
                 std::function<void(mcp::GenerationOutcome)> done) override;
  nlohmann::json listModels(const std::string& authorization) const override;
  std::optional<nlohmann::json> estimateCost(const std::string& model, const std::string& size,
                                             const std::string& quality, int n) const override;
  std::optional<nlohmann::json> usage(const std::string& authorization) const override;
  std::string authenticate(const std::string& authorization) const override;

 private:
  void run(http::Request request, const std::string& authorization,
           std::function<void(mcp::GenerationOutcome)> done);

  Worker& worker_;
};

}  // namespace arkroute
