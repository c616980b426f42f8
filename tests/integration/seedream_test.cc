// Integration: Seedream's dialect through the cache, against the simulator's /seedream API. A
// stream's partial_succeeded images are stored as Seedream's own answer, replayed as Seedream's
// events, and served to JSON requests; a stream with a failed image is never stored. With
// api = "seedream", images.edit is sent as a generation with the images as data URIs.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/harness.h"
#include "proxy/http/multipart_form.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

constexpr char kSeedreamPath[] = "/seedream/v1/images/generations";

GatewayOptions seedreamGateway(const Simulator& sim, std::string upstream_extra = "") {
  GatewayOptions options;
  options.extra_upstream_toml = std::move(upstream_extra);
  std::string base = sim.baseUrl();  // http://127.0.0.1:PORT/v1
  options.upstream_base_url = base.substr(0, base.size() - 3) + "/seedream/v1";
  options.cache_toml = "enabled = true\n";
  return options;
}

std::string seedreamBody(const std::string& prompt, bool stream) {
  return json{{"model", "seedream-4.5"},
              {"prompt", prompt},
              {"size", "2K"},
              {"response_format", "b64_json"},
              {"sequential_image_generation", "auto"},
              {"sequential_image_generation_options", {{"max_images", 2}}},
              {"stream", stream}}
      .dump();
}

// The data of each event in an SSE body, in order ([DONE] as the string "[DONE]").
std::vector<json> sseData(const std::string& body) {
  std::vector<json> events;
  for (size_t at = 0; (at = body.find("data: ", at)) != std::string::npos;) {
    size_t end = body.find('\n', at);
    std::string data = body.substr(at + 6, end - at - 6);
    events.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
    at = end;
  }
  return events;
}

TEST(Seedream, AStreamIsCachedAndReplayedInSeedreamsDialect) {
  Simulator sim({"--latency-ms", "100"});
  Gateway gateway(seedreamGateway(sim));
  HttpResponse live = httpPostJson(gateway.port(), "/v1/images/generations",
                                   seedreamBody("a streamed tide pool", true));
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_EQ(live.header("x-arkroute-cache"), "MISS");
  std::vector<json> live_events = sseData(live.body);
  ASSERT_EQ(live_events.size(), 4u) << live.body;
  HttpResponse replay = httpPostJson(gateway.port(), "/v1/images/generations",
                                     seedreamBody("a streamed tide pool", true));
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(replay.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(replay.header("content-type"), "text/event-stream");
  std::vector<json> events = sseData(replay.body);
  ASSERT_EQ(events.size(), 4u) << replay.body;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(events[i]["type"], "image_generation.partial_succeeded");
    EXPECT_EQ(events[i]["image_index"], i);
    EXPECT_EQ(events[i]["b64_json"], live_events[i]["b64_json"]);
    EXPECT_EQ(events[i]["size"], "2048x2048");
    EXPECT_EQ(events[i]["model"], "seedream-4-5-251128");
  }
  EXPECT_NE(events[0]["b64_json"], events[1]["b64_json"]);
  EXPECT_EQ(events[2]["type"], "image_generation.completed");
  EXPECT_EQ(events[2]["usage"], live_events[2]["usage"]);
  EXPECT_EQ(events[3], "[DONE]");

  HttpResponse as_json = httpPostJson(gateway.port(), "/v1/images/generations",
                                      seedreamBody("a streamed tide pool", false));
  ASSERT_EQ(as_json.status, 200) << as_json.body;
  EXPECT_EQ(as_json.header("x-arkroute-cache"), "HIT");
  json answer = json::parse(as_json.body);
  ASSERT_EQ(answer["data"].size(), 2u);
  EXPECT_EQ(answer["data"][1]["b64_json"], live_events[1]["b64_json"]);
  EXPECT_EQ(answer["usage"]["generated_images"], 2);
  EXPECT_TRUE(looksLikePng(base64Decode(answer["data"][0]["b64_json"].get<std::string>())));
  EXPECT_EQ(sim.requests(kSeedreamPath), 1);
}

TEST(Seedream, AJsonAnswerReplaysToAStreamAsSeedreamEvents) {
  Simulator sim;
  Gateway gateway(seedreamGateway(sim));
  HttpResponse first = httpPostJson(gateway.port(), "/v1/images/generations",
                                    seedreamBody("a plain tide pool", false));
  ASSERT_EQ(first.status, 200) << first.body;
  HttpResponse replay = httpPostJson(gateway.port(), "/v1/images/generations",
                                     seedreamBody("a plain tide pool", true));
  EXPECT_EQ(replay.header("x-arkroute-cache"), "HIT");
  std::vector<json> events = sseData(replay.body);
  ASSERT_EQ(events.size(), 4u) << replay.body;
  json answer = json::parse(first.body);
  EXPECT_EQ(events[1]["type"], "image_generation.partial_succeeded");
  EXPECT_EQ(events[1]["b64_json"], answer["data"][1]["b64_json"]);
  EXPECT_EQ(events[2]["usage"], answer["usage"]);
  EXPECT_EQ(sim.requests(kSeedreamPath), 1);
}

TEST(Seedream, AStreamWithAFailedImageIsNotStored) {
  Simulator sim;
  Gateway gateway(seedreamGateway(sim));
  HttpResponse failed =
      httpPostJson(gateway.port(), "/v1/images/generations", seedreamBody("a refused pool", true),
                   {{"x-sim-fault", "seedream-partial-failed"}});
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_NE(failed.body.find("image_generation.partial_failed"), std::string::npos);
  HttpResponse again =
      httpPostJson(gateway.port(), "/v1/images/generations", seedreamBody("a refused pool", true));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(sseData(again.body).size(), 4u);
  EXPECT_EQ(sim.requests(kSeedreamPath), 2);
}

const std::string kEditBoundary = "seedream-sdk-boundary";

HttpResponse seedreamEdit(uint16_t port, const std::vector<http::FormField>& fields,
                          const std::vector<http::FormFile>& files) {
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/edits";
  call.headers = {{"Content-Type", "multipart/form-data; boundary=" + kEditBoundary}};
  call.body = http::buildForm(kEditBoundary, fields, files).value_or("");
  return httpRequest(port, call);
}

// A real PNG to upload: the simulator's own.
std::string uploadPng(const Simulator& sim) {
  HttpResponse made =
      httpPostJson(sim.port(), "/v1/images/generations", R"({"prompt":"an input photo"})");
  return base64Decode(json::parse(made.body)["data"][0]["b64_json"].get<std::string>());
}

TEST(Seedream, AnEditIsSentAsAGenerationWithTheImageAsADataUri) {
  Simulator sim;
  Gateway gateway(seedreamGateway(sim, "api = \"seedream\"\n"));
  std::string png = uploadPng(sim);
  std::vector<http::FormField> fields = {
      {"model", "seedream-4.5"}, {"prompt", "make it dusk"}, {"response_format", "b64_json"}};
  HttpResponse edited =
      seedreamEdit(gateway.port(), fields, {{"image", "in.png", "image/png", png}});
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(edited.header("x-arkroute-cache"), "MISS");
  json sent = json::parse(json::parse(sim.lastRequestJson())["body"].get<std::string>());
  EXPECT_EQ(json::parse(sim.lastRequestJson())["path"], kSeedreamPath);
  EXPECT_EQ(sent["model"], "seedream-4-5-251128");
  EXPECT_EQ(sent["prompt"], "make it dusk");
  std::string uri = sent["image"];
  ASSERT_EQ(uri.rfind("data:image/png;base64,", 0), 0u) << uri.substr(0, 40);
  EXPECT_EQ(base64Decode(uri.substr(22)), png);
  json answer = json::parse(edited.body);
  EXPECT_TRUE(looksLikePng(base64Decode(answer["data"][0]["b64_json"].get<std::string>())));

  HttpResponse again =
      seedreamEdit(gateway.port(), fields, {{"image", "in.png", "image/png", png}});
  EXPECT_EQ(again.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(again.body, edited.body);
  std::string other = png;
  other.back() ^= 1;
  HttpResponse changed =
      seedreamEdit(gateway.port(), fields, {{"image", "in.png", "image/png", other}});
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.header("x-arkroute-cache"), "MISS");
  EXPECT_NE(json::parse(changed.body)["data"][0]["b64_json"], answer["data"][0]["b64_json"]);
  EXPECT_EQ(sim.requests(kSeedreamPath), 2);
  EXPECT_EQ(sim.requests("/seedream/v1/images/edits"), 0);
}

TEST(Seedream, AStreamedEditIsCapturedAndReplayedAsSeedreamEvents) {
  Simulator sim;
  Gateway gateway(seedreamGateway(sim, "api = \"seedream\"\n"));
  std::string png = uploadPng(sim);
  std::vector<http::FormField> fields = {{"model", "seedream-4.5"},
                                         {"prompt", "a streamed edit"},
                                         {"response_format", "b64_json"},
                                         {"stream", "True"}};  // as curl users may write it
  HttpResponse live = seedreamEdit(gateway.port(), fields, {{"image", "in.png", "image/png", png}});
  ASSERT_EQ(live.status, 200) << live.body;
  fields.back().value = "true";  // as the SDKs send it: the same request
  HttpResponse replay =
      seedreamEdit(gateway.port(), fields, {{"image", "in.png", "image/png", png}});
  EXPECT_EQ(replay.header("x-arkroute-cache"), "HIT");
  std::vector<json> live_events = sseData(live.body), events = sseData(replay.body);
  ASSERT_EQ(events.size(), 3u) << replay.body;
  ASSERT_EQ(live_events.size(), 3u) << live.body;
  EXPECT_EQ(events[0]["type"], "image_generation.partial_succeeded") << "as Seedream streams it";
  EXPECT_EQ(events[0]["b64_json"], live_events[0]["b64_json"]);
  EXPECT_EQ(sim.requests(kSeedreamPath), 1);
}

TEST(Seedream, AnEditWithAMaskOrTextThatIsNotUtf8IsRefusedBeforeTheProvider) {
  Simulator sim;
  Gateway gateway(seedreamGateway(sim, "api = \"seedream\"\n"));
  std::string png = uploadPng(sim);
  HttpResponse refused =
      seedreamEdit(gateway.port(), {{"model", "seedream-4.5"}, {"prompt", "p"}},
                   {{"image", "in.png", "image/png", png}, {"mask", "m.png", "image/png", png}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  json error = json::parse(refused.body)["error"];
  EXPECT_EQ(error["param"], "mask");
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_EQ(sim.requests(kSeedreamPath), 0);

  // A prompt that is not UTF-8 is the client's error, named, and the gateway goes on serving.
  HttpResponse not_text =
      seedreamEdit(gateway.port(), {{"model", "seedream-4.5"}, {"prompt", "dusk \xff here"}},
                   {{"image", "in.png", "image/png", png}});
  EXPECT_EQ(not_text.status, 400) << not_text.body;
  EXPECT_EQ(json::parse(not_text.body)["error"]["param"], "prompt");
  HttpResponse fine = seedreamEdit(gateway.port(), {{"model", "seedream-4.5"}, {"prompt", "dusk"}},
                                   {{"image", "in.png", "image/png", png}});
  EXPECT_EQ(fine.status, 200) << fine.body;
  EXPECT_EQ(sim.requests(kSeedreamPath), 1);
}

// A gateway whose seedream-4.5 costs $0.01 an image, logging requests to dir's access.log.
GatewayOptions pricedSeedream(const Simulator& sim, const TempDir& dir) {
  GatewayOptions options = seedreamGateway(sim);
  options.log_toml = "access_log = \"" + dir.file("access.log") + "\"\n";
  options.models_toml =
      "[[model]]\nname = \"seedream-4.5\"\nupstream = \"sim\"\n"
      "upstream_model = \"seedream-4-5-251128\"\n"
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.01 }\n";
  return options;
}

// Uncached, the price comes from the answer's usage: Seedream takes no n and says in
// usage.generated_images how many images it made, which is what it bills.
TEST(Seedream, AnUncachedSetIsPricedByTheImagesSeedreamMade) {
  Simulator sim;
  TempDir dir;
  Gateway gateway(pricedSeedream(sim, dir));
  for (bool stream : {false, true}) {
    HttpResponse answer =
        httpPostJson(gateway.port(), "/v1/images/generations", seedreamBody("a priced set", stream),
                     {{"Cache-Control", "no-store"}, {"x-request-id", stream ? "set-sse" : "set"}});
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.header("x-arkroute-cache"), "BYPASS");
  }
  std::vector<json> records = stopAndReadAccessLog(gateway, dir.file("access.log"));
  EXPECT_EQ(records.size(), 2u);
  for (const json& record : records) {
    EXPECT_EQ(record["images"], 2) << record;
    EXPECT_DOUBLE_EQ(record["cost_usd"].get<double>(), 0.02) << record;
  }
}

// A cached set is served whole on every hit, so every hit delivers the images Seedream made
// (what the ledger counts), not the n the request did not give.
TEST(Seedream, EveryHitOfACachedSetCountsItsImages) {
  Simulator sim;
  TempDir dir;
  Gateway gateway(pricedSeedream(sim, dir));
  for (bool stream : {false, false, true}) {
    HttpResponse answer =
        httpPostJson(gateway.port(), "/v1/images/generations", seedreamBody("a kept set", stream));
    ASSERT_EQ(answer.status, 200) << answer.body;
  }
  EXPECT_EQ(sim.requests(kSeedreamPath), 1);
  std::vector<std::string> statuses;
  for (const json& record : stopAndReadAccessLog(gateway, dir.file("access.log"))) {
    EXPECT_EQ(record["images"], 2) << record;
    statuses.push_back(record["cache"]);
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"MISS", "HIT", "HIT"}));
}

// A streamed set of URLs cannot be stored (the links expire): the answer is still priced by the
// images Seedream made, as an uncached one is, not left at the estimate with no images.
TEST(Seedream, AnAnswerTheCacheCannotKeepIsStillPricedByItsImages) {
  Simulator sim;
  TempDir dir;
  Gateway gateway(pricedSeedream(sim, dir));
  json body = json::parse(seedreamBody("a set of links", true));
  body["response_format"] = "url";
  body["sequential_image_generation_options"]["max_images"] = 3;
  HttpResponse answer = httpPostJson(gateway.port(), "/v1/images/generations", body.dump());
  ASSERT_EQ(answer.status, 200) << answer.body;
  ASSERT_NE(answer.body.find("\"url\""), std::string::npos) << answer.body;
  std::vector<json> records = stopAndReadAccessLog(gateway, dir.file("access.log"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["images"], 3) << records[0];
  EXPECT_DOUBLE_EQ(records[0]["cost_usd"].get<double>(), 0.03) << records[0];
}

}  // namespace
}  // namespace arkroute::testing
