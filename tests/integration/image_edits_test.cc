// Integration: POST /v1/images/edits through the gateway to the simulator — multipart bodies
// forwarded byte for byte (but for the model rename), repeated base64 edits served from the cache
// (streamed and url edits never), streamed edit events, errors, and the edit counted in the usage
// ledger.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

constexpr const char* kAdminToken = "admin-token-for-edit-tests";
constexpr const char* kBoundary = "----formdata-arkroute-7d1e";

// An edit form with these text fields and one PNG-ish file, laid out as the Node SDK does.
std::string editForm(const std::vector<std::pair<std::string, std::string>>& fields,
                     const std::string& image = std::string("\x89PNG\r\n\x1a\nfake", 12)) {
  std::string body;
  for (const auto& [name, value] : fields) {
    body += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name +
            "\"\r\n\r\n" + value + "\r\n";
  }
  body += std::string("--") + kBoundary +
          "\r\nContent-Disposition: form-data; name=\"image[]\"; filename=\"in.png\"\r\n"
          "Content-Type: image/png\r\n\r\n" +
          image + "\r\n--" + kBoundary + "--\r\n";
  return body;
}

HttpCall editCall(std::string body) {
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/edits";
  call.headers = {{"Content-Type", std::string("multipart/form-data; boundary=") + kBoundary}};
  call.body = std::move(body);
  return call;
}

class ImageEdits : public ::testing::Test {
 protected:
  Simulator sim;
  Gateway gateway{GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .extra_upstream_toml = "api_key_env = \"SIM_PROVIDER_KEY\"\n",
                                 .cache_toml = "enabled = true\n",
                                 .env = {{"SIM_PROVIDER_KEY", "sk-provider-secret-456"},
                                         {"ARKROUTE_ADMIN_TOKEN", kAdminToken}}}};
};

TEST_F(ImageEdits, AnEditIsByteIdenticalToTheSimulatorsAnswerAndARepeatIsServedFromTheCache) {
  const std::string body = editForm({{"model", "gpt-image-1"}, {"prompt", "add a red hat"}});
  HttpResponse direct = httpRequest(sim.port(), editCall(body));
  ASSERT_EQ(direct.status, 200) << direct.body;
  for (const char* status : {"MISS", "HIT"}) {
    HttpResponse proxied = httpRequest(gateway.port(), editCall(body));
    ASSERT_EQ(proxied.status, 200) << proxied.body;
    EXPECT_EQ(proxied.body, direct.body);
    EXPECT_EQ(proxied.header("x-arkroute-cache"), status);
    EXPECT_EQ(proxied.header("x-arkroute-model"), "gpt-image-1");
  }
  EXPECT_EQ(sim.requests("/v1/images/edits"), 2) << "the repeat was served from the cache";
  auto parsed = json::parse(direct.body);
  EXPECT_TRUE(looksLikePng(base64Decode(parsed["data"][0]["b64_json"].get<std::string>())));
  // The same form laid out in another order, with a user, is the same edit.
  HttpResponse reordered = httpRequest(
      gateway.port(),
      editCall(
          editForm({{"user", "u-42"}, {"prompt", "add a red hat"}, {"model", "gpt-image-1"}})));
  EXPECT_EQ(reordered.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(reordered.body, direct.body);
  // Another input image is another edit: the simulator's answer depends on the file's bytes.
  HttpResponse other = httpRequest(
      gateway.port(),
      editCall(editForm({{"model", "gpt-image-1"}, {"prompt", "add a red hat"}}, "another image")));
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(other.header("x-arkroute-cache"), "MISS");
  EXPECT_NE(other.body, direct.body);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 3);
}

TEST_F(ImageEdits, ConcurrentIdenticalEditsMakeOneUpstreamCall) {
  const std::string body = editForm({{"model", "gpt-image-1"}, {"prompt", "twenty at once"}});
  std::vector<HttpResponse> responses(20);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < responses.size(); ++i) {
    clients.emplace_back([&, i] {
      HttpCall call = editCall(body);
      call.headers.emplace_back("x-sim-latency-ms", "800");  // all arrive while the first runs
      responses[i] = httpRequest(gateway.port(), call);
    });
  }
  for (auto& client : clients) client.join();
  int misses = 0;
  for (const HttpResponse& response : responses) {
    ASSERT_EQ(response.status, 200) << response.error << response.body;
    EXPECT_EQ(response.body, responses[0].body);
    std::string status = response.header("x-arkroute-cache");
    EXPECT_TRUE(status == "MISS" || status == "COALESCED" || status == "HIT") << status;
    misses += status == "MISS";
  }
  EXPECT_EQ(misses, 1);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 1);
}

TEST_F(ImageEdits, StreamedAndUrlEditsAreNeverCached) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> uncached = {
      {{"model", "gpt-image-1"}, {"prompt", "a url edit"}, {"response_format", "url"}},
      {{"model", "gpt-image-1"}, {"prompt", "a streamed edit"}, {"stream", "true"}}};
  int calls = 0;
  for (const auto& fields : uncached) {
    for (int i = 0; i < 2; ++i) {
      HttpCall call = editCall(editForm(fields));
      call.headers.emplace_back("x-sim-latency-ms", "0");
      HttpResponse response = httpRequest(gateway.port(), call);
      ASSERT_EQ(response.status, 200) << response.body;
      EXPECT_EQ(response.header("x-arkroute-cache"), "BYPASS") << fields[1].second;
      EXPECT_EQ(sim.requests("/v1/images/edits"), ++calls) << fields[1].second;
    }
  }
}

TEST_F(ImageEdits, RenamesTheModelPartAndForwardsEveryOtherByteWithTheProviderKey) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"prompt", "a lake at noon"}, {"input_fidelity", "high"}, {"future_field", "kept"}};
  auto with_model = [&](const std::string& model) {
    auto all = fields;
    all.insert(all.begin() + 1, {"model", model});
    return editForm(all, "ascii image bytes");  // the recorded body is JSON text: keep it UTF-8
  };
  HttpCall call = editCall(with_model("seedream-4.5"));
  call.headers.emplace_back("Authorization", "Bearer client-token-must-not-leak");
  HttpResponse response = httpRequest(gateway.port(), call);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-arkroute-model"), "seedream-4.5");
  json last = json::parse(sim.lastRequestJson());
  EXPECT_EQ(last["path"], "/v1/images/edits");
  EXPECT_EQ(last["body"].get<std::string>(), with_model("seedream-4-5-251128"));
  EXPECT_EQ(last["headers"]["content-type"],
            std::string("multipart/form-data; boundary=") + kBoundary);
  EXPECT_EQ(last["headers"]["authorization"], "Bearer sk-provider-secret-456");
  EXPECT_EQ(last.dump().find("client-token-must-not-leak"), std::string::npos);
}

TEST_F(ImageEdits, StreamedEditEventsPassThroughAsTheyArrive) {
  HttpCall call = editCall(editForm({{"model", "gpt-image-1"},
                                     {"prompt", "stream an edit"},
                                     {"stream", "true"},
                                     {"partial_images", "2"}}));
  call.headers.emplace_back("x-sim-latency-ms", "0");
  HttpResponse response = httpRequest(gateway.port(), call);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("content-type"), "text/event-stream");
  size_t partial = response.body.find("event: image_edit.partial_image");
  size_t completed = response.body.find("event: image_edit.completed");
  ASSERT_NE(partial, std::string::npos) << response.body.substr(0, 300);
  ASSERT_NE(completed, std::string::npos);
  EXPECT_LT(partial, completed);
}

TEST_F(ImageEdits, BadEditsGetOpenAIStyleErrorsAndNeverReachTheProvider) {
  struct Case {
    HttpCall call;
    int status;
    std::string code;
  };
  HttpCall json_body = editCall(R"({"model":"gpt-image-1","prompt":"p"})");
  json_body.headers = {{"Content-Type", "application/json"}};
  HttpCall cut = editCall(editForm({{"model", "gpt-image-1"}, {"prompt", "p"}}).substr(0, 150));
  std::string no_image =
      std::string("--") + kBoundary +
      "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ngpt-image-1\r\n--" + kBoundary +
      "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\np\r\n--" + kBoundary + "--\r\n";
  std::vector<Case> cases = {
      {json_body, 400, "invalid_content_type"},
      {cut, 400, "invalid_multipart"},
      {editCall(no_image), 400, "missing_required_parameter"},
      {editCall(editForm({{"model", "gpt-image-1"}})), 400, "missing_required_parameter"},
      {editCall(editForm({{"model", "gpt-image-1"}, {"model", "x"}, {"prompt", "p"}})), 400,
       "duplicate_field"},
      {editCall(editForm({{"model", "gpt-image-1"}, {"prompt", "p"}, {"n", "11"}})), 400,
       "integer_out_of_range"},
      {editCall(editForm({{"model", "no-such-model"}, {"prompt", "p"}})), 404, "model_not_found"},
  };
  for (const Case& c : cases) {
    HttpResponse response = httpRequest(gateway.port(), c.call);
    EXPECT_EQ(response.status, c.status) << response.body;
    EXPECT_EQ(response.header("content-type"), "application/json");
    auto error = json::parse(response.body, nullptr, false)["error"];
    EXPECT_EQ(error["code"], c.code) << response.body;
    EXPECT_EQ(error["type"], "invalid_request_error");
  }
  EXPECT_EQ(sim.requests("/v1/images/edits"), 0);
}

TEST(ImageEditsLedger, AnEditIsCountedInTheUsageLedgerAtItsCost) {
  Simulator sim;
  Gateway gateway{GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .models_toml =
                                     "[[model]]\nname = \"editor\"\nupstream = \"sim\"\n"
                                     "upstream_model = \"gpt-image-1\"\n"
                                     "[model.price.per_image]\n\"*\" = { \"*\" = 0.04 }\n",
                                 .env = {{"ARKROUTE_ADMIN_TOKEN", kAdminToken}}}};
  HttpResponse response =
      httpRequest(gateway.port(),
                  editCall(editForm({{"model", "editor"}, {"prompt", "count me"}, {"n", "2"}})));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-arkroute-cost-usd"), "0.080000");
  HttpCall usage;
  usage.path = "/admin/usage";
  usage.headers = {{"Authorization", std::string("Bearer ") + kAdminToken}};
  HttpResponse report = httpRequest(gateway.port(), usage);
  ASSERT_EQ(report.status, 200) << report.body;
  auto totals = json::parse(report.body)["totals"];
  EXPECT_EQ(totals["requests"].get<int>(), 1);
  EXPECT_EQ(totals["images"].get<int>(), 2);
  EXPECT_NEAR(totals["cost_usd"].get<double>(), 0.08, 1e-9);
}

}  // namespace
}  // namespace arkroute::testing
