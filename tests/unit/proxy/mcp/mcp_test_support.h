// Test doubles for the MCP unit tests: a backend whose answers the test sets (the gateway's real
// backend needs the whole pipeline; the integration and acceptance tests use that), and an
// in-memory Exchange that records the one response.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/http/server.h"
#include "proxy/mcp/mcp_backend.h"

namespace arkroute::mcp::testing {

// A 1x1 PNG, base64.
inline constexpr const char* kPngBase64 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+"
    "M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

class FakeBackend : public McpBackend {
 public:
  std::vector<std::string> requests;        // generateImage request bodies
  std::vector<std::string> authorizations;  // of generateImage and editImage calls
  GenerationOutcome outcome;                // what generateImage answers
  bool defer = false;                       // keep `done` in `pending` instead of calling it
  std::function<void(GenerationOutcome)> pending;
  std::string refusal;  // authenticate() answer
  std::optional<nlohmann::json> usage_answer;

  FakeBackend() {
    outcome.status = 200;
    outcome.headers.set("X-ArkRoute-Cache", "MISS");
    outcome.headers.set("X-ArkRoute-Model", "gpt-image-1");
    outcome.headers.set("X-ArkRoute-Cost-USD", "0.042000");
    outcome.body = std::string(R"({"created":1,"data":[{"b64_json":")") + kPngBase64 + "\"}]}";
  }

  void generateImage(std::string request_json, std::string authorization,
                     std::function<void(GenerationOutcome)> done) override {
    requests.push_back(std::move(request_json));
    authorizations.push_back(std::move(authorization));
    if (defer) {
      pending = std::move(done);
      return;
    }
    done(outcome);
  }
  std::vector<EditImageRequest> edits;  // editImage requests

  void editImage(EditImageRequest request, std::string authorization,
                 std::function<void(GenerationOutcome)> done) override {
    edits.push_back(std::move(request));
    authorizations.push_back(std::move(authorization));
    done(outcome);
  }
  nlohmann::json listModels(const std::string&) const override {
    return nlohmann::json::array(
        {{{"name", "gpt-image-1"},
          {"provider", "openai"},
          {"upstream_model", "gpt-image-1"},
          {"prices", {{"per_image_usd", {{"high", {{"1024x1024", 0.084}}}}}}}},
         {{"name", "seedream-4.5"},
          {"provider", "ark"},
          {"upstream_model", "seedream"},
          {"prices", nullptr}}});
  }
  std::optional<nlohmann::json> estimateCost(const std::string& model, const std::string& size,
                                             const std::string& quality, int n) const override {
    if (model != "gpt-image-1" && model != "seedream-4.5") return std::nullopt;
    nlohmann::json out = {{"model", model}, {"n", n}, {"size", size}, {"quality", quality}};
    bool priced = model == "gpt-image-1";
    out["unit_usd"] = priced ? nlohmann::json(0.084) : nlohmann::json(nullptr);
    out["total_usd"] = priced ? nlohmann::json(0.084 * n) : nlohmann::json(nullptr);
    return out;
  }
  std::optional<nlohmann::json> usage(const std::string&) const override { return usage_answer; }
  std::string authenticate(const std::string&) const override { return refusal; }
};

// Records what the handler answered; only respond() is expected from the MCP endpoint.
class RecordingExchange : public http::Exchange {
 public:
  explicit RecordingExchange(http::Request request) : request_(std::move(request)) {}

  int status = 0;
  http::Headers headers;
  std::string body;
  int responses = 0;

  const http::Request& request() const override { return request_; }
  event_base* base() const override { return nullptr; }
  const std::string& peerAddress() const override { return peer_; }
  void respond(int s, const http::Headers& h, std::string_view b) override {
    ++responses;
    status = s;
    headers = h;
    body = std::string(b);
  }
  void startResponse(int s, const http::Headers& h, std::optional<uint64_t>) override {
    ++responses;
    status = s;
    headers = h;
  }
  void writeBody(std::string_view data) override { body.append(data); }
  void writeBody(evbuffer*) override {}
  void endResponse() override {}
  void abort() override { status = -1; }
  bool responseStarted() const override { return responses > 0; }
  bool finished() const override { return responses > 0; }
  bool clientGone() const override { return false; }
  bool writeWouldBlock() const override { return false; }
  void onDrained(std::function<void()> callback) override {
    if (callback) callback();
  }
  void onClientGone(std::function<void()>) override {}

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }

 private:
  http::Request request_;
  std::string peer_ = "127.0.0.1:1";
};

}  // namespace arkroute::mcp::testing
