// Integration: POST /v1/images/edits through the gateway to the simulator — multipart bodies
// forwarded byte for byte (but for the model rename), repeated edits served from the cache (base64,
// streamed as image_edit.* events, url answers with the gateway's URLs), streamed edit events,
// errors, the edit counted in the usage ledger, and large concurrent uploads over HTTP and HTTPS.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "integration/harness.h"
#include "integration/plain_and_tls.h"

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
  // The file under "image" (as one SDK sends a single file) rather than "image[]": the same edit.
  std::string single = body;
  single.replace(single.find("name=\"image[]\""), 14, "name=\"image\"");
  HttpResponse as_image = httpRequest(gateway.port(), editCall(single));
  EXPECT_EQ(as_image.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(as_image.body, direct.body);
  // Another input image is another edit: the simulator's answer depends on the file's bytes.
  HttpResponse other = httpRequest(
      gateway.port(),
      editCall(editForm({{"model", "gpt-image-1"}, {"prompt", "add a red hat"}}, "another image")));
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(other.header("x-arkroute-cache"), "MISS");
  EXPECT_NE(other.body, direct.body);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 3);
}

// Files above a slice (1 MiB) are hashed over several loop turns: the key still covers every byte
// (the same 3 MiB image is a hit, one with its last byte changed is not).
TEST_F(ImageEdits, ALargeImageIsKeyedByAllItsBytes) {
  std::string image(3u << 20, 'x');
  image.replace(0, 8, "\x89PNG\r\n\x1a\n");
  const auto fields = std::vector<std::pair<std::string, std::string>>{{"model", "gpt-image-1"},
                                                                       {"prompt", "a large input"}};
  HttpResponse direct = httpRequest(sim.port(), editCall(editForm(fields, image)));
  HttpResponse miss = httpRequest(gateway.port(), editCall(editForm(fields, image)));
  HttpResponse hit = httpRequest(gateway.port(), editCall(editForm(fields, image)));
  // The simulator's answer depends on the image's bytes: the gateway forwarded all of them (by
  // reference to the client's upload, not copied).
  EXPECT_EQ(miss.body, direct.body);
  image.back() = 'y';
  HttpResponse changed = httpRequest(gateway.port(), editCall(editForm(fields, image)));
  ASSERT_EQ(miss.status, 200) << miss.body;
  EXPECT_EQ(miss.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(hit.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.header("x-arkroute-cache"), "MISS");
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

// The data of a stream's first event named name, parsed.
json firstEventData(const std::string& stream, const std::string& name) {
  size_t event = stream.find("event: " + name + "\n");
  if (event == std::string::npos) return json();
  size_t data = stream.find("data: ", event);
  size_t end = stream.find("\n\n", data);
  if (data == std::string::npos || end == std::string::npos) return json();
  return json::parse(stream.substr(data + 6, end - data - 6), nullptr, false);
}

// A streamed edit is captured as it passes: a repeat is replayed as image_edit.completed events
// (the events an edit stream has, never image_generation.*), and the same edit as JSON is a hit
// too; a JSON edit's entry is replayed to a streamed one.
TEST_F(ImageEdits, StreamedEditsAreCachedAndReplayedAsEditEvents) {
  auto fields = [](bool stream) {
    std::vector<std::pair<std::string, std::string>> all = {{"model", "gpt-image-1"},
                                                            {"prompt", "a streamed edit"}};
    if (stream) all.insert(all.end(), {{"stream", "true"}, {"partial_images", "2"}});
    return editForm(all);
  };
  HttpResponse live = httpRequest(gateway.port(), editCall(fields(true)));
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_EQ(live.header("x-arkroute-cache"), "MISS");
  EXPECT_NE(live.body.find("event: image_edit.partial_image"), std::string::npos);
  json live_completed = firstEventData(live.body, "image_edit.completed");
  ASSERT_TRUE(live_completed.is_object()) << live.body.substr(0, 300);

  HttpResponse replay = httpRequest(gateway.port(), editCall(fields(true)));
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(replay.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(replay.header("content-type"), "text/event-stream");
  EXPECT_EQ(replay.body.find("image_generation"), std::string::npos) << replay.body.substr(0, 300);
  EXPECT_EQ(replay.body.find("partial_image"), std::string::npos);
  json completed = firstEventData(replay.body, "image_edit.completed");
  ASSERT_TRUE(completed.is_object()) << replay.body.substr(0, 300);
  EXPECT_EQ(completed["type"], "image_edit.completed");
  EXPECT_EQ(completed["b64_json"], live_completed["b64_json"]);

  HttpResponse as_json = httpRequest(gateway.port(), editCall(fields(false)));
  ASSERT_EQ(as_json.status, 200) << as_json.body;
  EXPECT_EQ(as_json.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(json::parse(as_json.body)["data"][0]["b64_json"], live_completed["b64_json"]);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 1);

  const std::string json_first = editForm({{"model", "gpt-image-1"}, {"prompt", "json first"}});
  HttpResponse first = httpRequest(gateway.port(), editCall(json_first));
  ASSERT_EQ(first.status, 200) << first.body;
  HttpResponse streamed = httpRequest(
      gateway.port(),
      editCall(editForm({{"model", "gpt-image-1"}, {"prompt", "json first"}, {"stream", "true"}})));
  EXPECT_EQ(streamed.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(firstEventData(streamed.body, "image_edit.completed")["b64_json"],
            json::parse(first.body)["data"][0]["b64_json"]);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 2);
}

// The image a url answer points at, fetched from the gateway by the URL's path.
HttpResponse fetchImage(uint16_t port, const std::string& url) {
  size_t path = url.find("/v1/images/cache/");
  return path == std::string::npos ? HttpResponse{} : httpGet(port, url.substr(path));
}

// A url edit: the provider is asked for base64 (the form's response_format part rewritten, every
// other byte as sent), and the client gets the gateway's URLs, which a repeat answers again.
TEST_F(ImageEdits, UrlEditsAreAnsweredWithTheGatewaysUrls) {
  auto form = [](const std::string& format) {
    return editForm(
        {{"model", "gpt-image-1"}, {"prompt", "a url edit"}, {"response_format", format}},
        "ascii image bytes");  // the recorded body is JSON text: keep it UTF-8
  };
  HttpResponse first = httpRequest(gateway.port(), editCall(form("url")));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(json::parse(sim.lastRequestJson())["body"].get<std::string>(), form("b64_json"));
  std::string url = json::parse(first.body)["data"][0]["url"];
  HttpResponse image = fetchImage(gateway.port(), url);
  ASSERT_EQ(image.status, 200) << url;
  EXPECT_TRUE(looksLikePng(image.body));

  HttpResponse again = httpRequest(gateway.port(), editCall(form("url")));
  EXPECT_EQ(again.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(json::parse(again.body)["data"][0]["url"], url);
  HttpResponse b64 = httpRequest(gateway.port(), editCall(form("b64_json")));
  EXPECT_EQ(b64.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(base64Decode(json::parse(b64.body)["data"][0]["b64_json"]), image.body);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 1);
}

// A model whose provider answers with URLs by default: an edit that names no format gets a
// response_format part added (after the last part), in the same pass as the model's rename.
TEST(ImageEditsUrlDefault, AnEditNamingNoFormatAsksForBase64AndIsAnsweredWithUrls) {
  Simulator sim;
  Gateway gateway{GatewayOptions{.upstream_base_url = sim.baseUrl(),
                                 .cache_toml = "enabled = true\n",
                                 .models_toml = "[[model]]\nname = \"editor\"\nupstream = \"sim\"\n"
                                                "upstream_model = \"gpt-image-1\"\n"
                                                "default_response_format = \"url\"\n"}};
  auto form = [](const std::string& model) {
    return editForm({{"prompt", "default urls"}, {"model", model}}, "ascii image bytes");
  };
  HttpResponse first = httpRequest(gateway.port(), editCall(form("editor")));
  ASSERT_EQ(first.status, 200) << first.body;
  std::string expected = form("gpt-image-1");
  const std::string closing = std::string("\r\n--") + kBoundary + "--\r\n";
  expected.insert(expected.size() - closing.size(),
                  std::string("\r\n--") + kBoundary +
                      "\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\n"
                      "b64_json");
  EXPECT_EQ(json::parse(sim.lastRequestJson())["body"].get<std::string>(), expected);
  std::string url = json::parse(first.body)["data"][0]["url"];
  EXPECT_TRUE(looksLikePng(fetchImage(gateway.port(), url).body)) << url;
  HttpResponse again = httpRequest(gateway.port(), editCall(form("editor")));
  EXPECT_EQ(again.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(json::parse(again.body)["data"][0]["url"], url);
  EXPECT_EQ(sim.requests("/v1/images/edits"), 1);
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
  call.headers.emplace_back("x-sim-latency-ms", "900");  // the events come spread over it
  std::string seen;
  std::chrono::steady_clock::time_point first_partial, completed;
  call.on_body = [&](const std::string& piece) {
    seen += piece;
    auto now = std::chrono::steady_clock::now();
    if (first_partial == decltype(now)() &&
        seen.find("event: image_edit.partial_image") != std::string::npos) {
      first_partial = now;
    }
    if (completed == decltype(now)() &&
        seen.find("event: image_edit.completed") != std::string::npos) {
      completed = now;
    }
  };
  HttpResponse response = httpRequest(gateway.port(), call);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("content-type"), "text/event-stream");
  ASSERT_NE(first_partial, decltype(first_partial)()) << response.body.substr(0, 300);
  ASSERT_NE(completed, decltype(completed)());
  EXPECT_GT(completed - first_partial, 200ms) << "partials must not be held back until the end";
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

// Large uploads at once, over plain HTTP and HTTPS to the provider: three clients each send an
// edit with its own 12 MiB image through two provider connections, and each answer (which depends
// on every byte of its image) equals the one a plain simulator gives for the same upload.
class LargeEdits : public PlainAndTls {};

TEST_P(LargeEdits, ConcurrentUploadsReachTheProviderWhole) {
  auto sim = startSimulator();
  ASSERT_TRUE(sim);
  GatewayOptions options = optionsFor(*sim, "max_connections = 2\n");
  options.server_toml = "max_body_bytes = \"64MiB\"\n";
  Gateway gateway(options);
  Simulator plain;
  constexpr int kClients = 3;
  std::vector<std::string> forms;
  for (int client = 0; client < kClients; ++client) {
    std::string image(12u << 20, static_cast<char>('a' + client));
    image.replace(0, 8, "\x89PNG\r\n\x1a\n");
    forms.push_back(editForm({{"model", "gpt-image-1"}, {"prompt", "upload"}}, image));
  }
  std::vector<HttpResponse> answers(kClients);
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back(
        [&, client] { answers[client] = httpRequest(gateway.port(), editCall(forms[client])); });
  }
  for (std::thread& thread : clients) thread.join();
  for (int client = 0; client < kClients; ++client) {
    ASSERT_EQ(answers[client].status, 200) << answers[client].body.substr(0, 300);
    EXPECT_TRUE(answers[client].body == httpRequest(plain.port(), editCall(forms[client])).body)
        << "client " << client;
  }
  if (!tls()) {  // the harness reads the simulator's stats over plain HTTP only
    EXPECT_EQ(sim->requests("/v1/images/edits"), kClients) << "nothing was sent twice";
  }
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, LargeEdits, ::testing::Bool(), plainOrTlsName);

}  // namespace
}  // namespace arkroute::testing
