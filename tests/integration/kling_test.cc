// Integration: a Kling upstream (the simulator's Kling mode: JWT auth, submit, poll, images at
// URLs). OpenAI clients get OpenAI answers, the cache serves repeats, Kling's refusals arrive as
// OpenAI errors, and a task once submitted is never paid for twice.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

using nlohmann::json;

const char kKlingKeys[] = "sim-access-key:sim-secret-key";
const char kSubmits[] = "/kling/v1/images/generations";
const char kPolls[] = "/kling/v1/images/generations/{id}";

GatewayOptions klingGateway(const Simulator& sim, std::string upstream_extra = "",
                            std::string keys = kKlingKeys, std::string poll_interval = "20ms") {
  GatewayOptions options;
  options.upstream_base_url = "http://127.0.0.1:" + std::to_string(sim.port()) + "/kling";
  options.extra_upstream_toml = "api = \"kling\"\npoll_interval = \"" + poll_interval +
                                "\"\napi_key_env = \"KLING_KEYS\"\nretry_base = \"10ms\"\n" +
                                upstream_extra;
  options.models_toml =
      "[[model]]\nname = \"kling-v3\"\nupstream = \"sim\"\n"
      "upstream_model = \"kling-v3-upstream\"\n"
      "[model.price.per_image]\n\"*\" = { \"*\" = 0.02 }\n";
  options.env = {{"KLING_KEYS", keys}};
  return options;
}

HttpResponse generateKling(uint16_t port, const std::string& body,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
  return httpPostJson(port, "/v1/images/generations", body, std::move(headers));
}

void expectNoKlingSecret(Gateway& gateway, const HttpResponse& response) {
  for (const char* secret : {"sim-secret-key", kKlingKeys}) {
    EXPECT_EQ(response.body.find(secret), std::string::npos);
    for (const auto& [name, value] : response.headers) {
      EXPECT_EQ(value.find(secret), std::string::npos) << name;
    }
    EXPECT_EQ(readFile(gateway.process().stderrPath()).find(secret), std::string::npos);
  }
}

HttpResponse submitWithFault(Gateway& gateway, const char* fault) {
  return generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"p"})",
                       {{"x-sim-fault", fault}});
}

TEST(Kling, AGenerationIsSubmittedPolledDownloadedAndAnsweredAsOpenAI) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = generateKling(
      gateway.port(),
      R"({"model":"kling-v3","prompt":"a red kite","n":2,"size":"1536x1024","quality":"high"})");
  ASSERT_EQ(response.status, 200) << response.body;
  json answer = json::parse(response.body);
  ASSERT_EQ(answer["data"].size(), 2u);
  std::string first = base64Decode(answer["data"][0]["b64_json"].get<std::string>());
  std::string second = base64Decode(answer["data"][1]["b64_json"].get<std::string>());
  EXPECT_TRUE(looksLikePng(first));
  EXPECT_TRUE(looksLikePng(second));
  EXPECT_NE(first, second);
  EXPECT_GT(answer["created"].get<int64_t>(), 0);
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_EQ(sim.requests(kPolls), 2);  // processing, then succeed
  EXPECT_EQ(sim.requests("/_sim/images"), 2);

  json submitted = json::parse(sim.lastRequestJson());
  EXPECT_EQ(json::parse(submitted["body"].get<std::string>()),
            json::parse(R"({"model_name":"kling-v3-upstream","prompt":"a red kite","n":2,)"
                        R"("aspect_ratio":"3:2","resolution":"2k"})"));
  std::string authorization = submitted["headers"]["authorization"];
  EXPECT_TRUE(authorization.starts_with("Bearer ey")) << "a JWT, not the key pair";
  EXPECT_EQ(std::count(authorization.begin(), authorization.end(), '.'), 2);
  EXPECT_EQ(response.header("x-arkroute-cost-usd"), "0.040000");
  expectNoKlingSecret(gateway, response);
}

TEST(Kling, ARepeatIsAHitAndAUrlRequestGetsTheGatewaysUrls) {
  Simulator sim;
  GatewayOptions options = klingGateway(sim);
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  const std::string body = R"({"model":"kling-v3","prompt":"a cached kite","size":"1024x1024"})";
  HttpResponse miss = generateKling(gateway.port(), body);
  HttpResponse hit = generateKling(gateway.port(), body);
  ASSERT_EQ(miss.status, 200) << miss.body;
  ASSERT_EQ(hit.status, 200) << hit.body;
  EXPECT_EQ(miss.header("x-arkroute-cache"), "MISS");
  EXPECT_EQ(hit.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(hit.body, miss.body);

  HttpResponse urls = generateKling(
      gateway.port(),
      R"({"model":"kling-v3","prompt":"a kite by url","size":"1024x1024","response_format":"url"})");
  ASSERT_EQ(urls.status, 200) << urls.body;
  std::string url = json::parse(urls.body)["data"][0]["url"];
  size_t path = url.find("/v1/images/cache/");
  ASSERT_NE(path, std::string::npos) << url;
  HttpResponse image = httpGet(gateway.port(), url.substr(path));
  EXPECT_EQ(image.status, 200);
  EXPECT_TRUE(looksLikePng(image.body));
  EXPECT_EQ(sim.requests(kSubmits), 2);
}

TEST(Kling, WithoutTheCacheAUrlRequestGetsKlingsUrls) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = generateKling(
      gateway.port(), R"({"model":"kling-v3","prompt":"a kite","response_format":"url"})");
  ASSERT_EQ(response.status, 200) << response.body;
  std::string url = json::parse(response.body)["data"][0]["url"];
  EXPECT_NE(url.find("/_sim/images/"), std::string::npos) << url;
  EXPECT_EQ(sim.requests("/_sim/images"), 0) << "nothing downloaded";
}

TEST(Kling, WrongCredentialsAreKlingsRefusalWithoutTheKey) {
  Simulator sim;
  Gateway gateway(klingGateway(sim, "", "sim-access-key:not-the-secret"));
  HttpResponse response = generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"p"})");
  EXPECT_EQ(response.status, 401) << response.body;
  json error = json::parse(response.body)["error"];
  EXPECT_NE(error["message"].get<std::string>().find("Kling upstream 'sim'"), std::string::npos);
  EXPECT_EQ(error["code"], "kling_1004");
  EXPECT_EQ(response.body.find("not-the-secret"), std::string::npos);
  EXPECT_EQ(readFile(gateway.process().stderrPath()).find("not-the-secret"), std::string::npos);
}

TEST(Kling, ARateLimitedSubmitIsRetried) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"busy"})",
                                        {{"x-sim-fault", "429"}, {"x-sim-fault-times", "1"}});
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(sim.requests(kSubmits), 2);
}

// Kling answers 429 for its account too. No retry can succeed there: not the gateway's, not the
// SDK's (x-should-retry: false), and the upstream is not paused as if it were busy.
TEST(Kling, AnAccountOutOfCreditIsInsufficientQuotaAndNotRetried) {
  Simulator sim;
  TempDir dir;
  GatewayOptions options = klingGateway(sim);
  options.log_toml = "access_log = \"" + dir.file("access.log") + "\"\n";
  Gateway gateway(options);
  HttpResponse response = submitWithFault(gateway, "kling-no-credit");
  EXPECT_EQ(response.status, 429) << response.body;
  json error = json::parse(response.body)["error"];
  EXPECT_EQ(error["type"], "insufficient_quota");
  EXPECT_EQ(error["code"], "insufficient_quota");
  EXPECT_NE(error["message"].get<std::string>().find("Kling code 1102"), std::string::npos);
  EXPECT_EQ(response.header("x-should-retry"), "false");
  EXPECT_EQ(sim.requests(kSubmits), 1);
  // A provider's 429 pauses its upstream for at least a second; this one must not.
  EXPECT_EQ(generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"next"})").status, 200);
  std::vector<json> records = stopAndReadAccessLog(gateway, dir.file("access.log"));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["status"], 429) << records[0];
  EXPECT_LT(records[1]["queue_ms"].get<double>(), 500) << records[1];
}

// An account out of credit is not retried, but the model's fallbacks are tried.
TEST(Kling, AnAccountOutOfCreditFallsBackToTheNextModel) {
  Simulator sim;
  GatewayOptions options = klingGateway(sim);
  options.models_toml.insert(options.models_toml.find("[model.price"),
                             "fallbacks = [\"backup\"]\n");
  options.extra_toml = "[[upstream]]\nname = \"openai\"\nbase_url = \"" + sim.baseUrl() +
                       "\"\n[[model]]\nname = \"backup\"\nupstream = \"openai\"\n"
                       "upstream_model = \"gpt-image-1\"\n";
  Gateway gateway(options);
  HttpResponse response = submitWithFault(gateway, "kling-no-credit");
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.header("x-arkroute-model"), "backup");
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_EQ(sim.requests(), 1) << "the fallback's generation";
}

TEST(Kling, AnAddressOffTheAccountsAllowListIs403AndNotRetried) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = submitWithFault(gateway, "kling-ip-refused");
  EXPECT_EQ(response.status, 403) << response.body;
  EXPECT_EQ(json::parse(response.body)["error"]["code"], "kling_1304");
  EXPECT_EQ(sim.requests(kSubmits), 1);
}

TEST(Kling, AFailedTaskIsAnErrorAndNotResubmitted) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = submitWithFault(gateway, "kling-task-failed");
  EXPECT_EQ(response.status, 400) << response.body;
  json error = json::parse(response.body)["error"];
  EXPECT_EQ(error["code"], "generation_failed");
  EXPECT_NE(error["message"].get<std::string>().find("risk control"), std::string::npos);
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_DOUBLE_EQ(chargedUsd(gateway.port(), 1), 0.0) << "a failed task is not billed";
}

// Kling made the task but its answer cannot be read: a retry would pay for a second task.
TEST(Kling, AnUnreadableSubmitAnswerIsA502WithoutASecondTaskAndCharged) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = submitWithFault(gateway, "kling-submit-garbled");
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_NE(response.body.find("not submitted again"), std::string::npos) << response.body;
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_GT(chargedUsd(gateway.port(), 1), 0.0) << "a task may exist: it is billed";
}

TEST(Kling, PollsThatKeepFailingEndIn502WithoutASecondTask) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = submitWithFault(gateway, "kling-poll-500");
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_NE(response.body.find("5 times in a row"), std::string::npos) << response.body;
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_EQ(sim.requests(kPolls), 5);
}

TEST(Kling, ImagesThatCannotBeDownloadedAreA502WithoutASecondTask) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response = submitWithFault(gateway, "kling-images-gone");
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_NE(response.body.find("downloading image 1 of 1"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("HTTP 404"), std::string::npos) << response.body;
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_DOUBLE_EQ(chargedUsd(gateway.port(), 1), 0.02) << "Kling made, and bills, the image";
  EXPECT_EQ(response.header("x-arkroute-cost-usd"), "0.020000") << "the answer says so too";
}

TEST(Kling, ADownloadThatFailsOnceIsFetchedAgain) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse response =
      generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"p","n":2})",
                    {{"x-sim-fault", "kling-images-flaky"}});
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(json::parse(response.body)["data"].size(), 2u);
  EXPECT_EQ(sim.requests("/_sim/images"), 4);  // each image: a 503, then the PNG
  EXPECT_EQ(sim.requests(kSubmits), 1);
}

// Once the task exists, even failures that would have been retried before it (a refused
// connection) are final: a retry would submit, and pay for, a second task.
TEST(Kling, AnApiThatGoesAwayAfterTheSubmitIsNotResubmitted) {
  Simulator sim;
  Gateway gateway(klingGateway(sim, "", kKlingKeys, "600ms"));
  HttpResponse response;
  std::thread client(
      [&] { response = generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"p"})"); });
  for (int i = 0; i < 200 && sim.requests(kSubmits) == 0; ++i) std::this_thread::sleep_for(5ms);
  // The submit is counted when it arrives: give its answer time to reach the gateway (the first
  // poll is 600 ms after it).
  std::this_thread::sleep_for(300ms);
  sim.process().signal(SIGKILL);
  client.join();
  EXPECT_EQ(response.status, 502) << response.body;
  EXPECT_NE(response.body.find("polling Kling task"), std::string::npos) << response.body;
}

TEST(Kling, ATaskNotDoneWithinTheTimeoutIs504) {
  Simulator sim;
  // The first poll (at 600 ms) finds the task processing; a second would come after the timeout.
  Gateway gateway(klingGateway(sim, "timeout = \"1s\"\n", kKlingKeys, "600ms"));
  HttpResponse response = generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"p"})");
  EXPECT_EQ(response.status, 504) << response.body;
  EXPECT_NE(response.body.find("was not done within the upstream's timeout"), std::string::npos);
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_EQ(sim.requests(kPolls), 1);
  EXPECT_DOUBLE_EQ(chargedUsd(gateway.port(), 1), 0.02) << "the task goes on, and is billed";
}

// Kling has no partial images: a stream gets the completed events once the task is done, and the
// cache serves the same images to the stream and to the JSON request.
TEST(Kling, AStreamGetsOneCompletedEventPerImage) {
  Simulator sim;
  GatewayOptions options = klingGateway(sim);
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  HttpResponse stream = generateKling(
      gateway.port(), R"({"model":"kling-v3","prompt":"a streamed kite","n":2,"stream":true})");
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_EQ(stream.header("content-type"), "text/event-stream");
  EXPECT_EQ(stream.header("x-arkroute-cache"), "MISS");
  std::vector<std::string> images;
  for (size_t at = 0; (at = stream.body.find("data: ", at)) != std::string::npos;) {
    size_t end = stream.body.find("\n\n", at);
    json event = json::parse(stream.body.substr(at + 6, end - at - 6));
    EXPECT_EQ(event["type"], "image_generation.completed");
    images.push_back(base64Decode(event["b64_json"].get<std::string>()));
    at = end;
  }
  ASSERT_EQ(images.size(), 2u) << stream.body;
  EXPECT_TRUE(looksLikePng(images[0]));
  HttpResponse plain =
      generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"a streamed kite","n":2})");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(base64Decode(json::parse(plain.body)["data"][1]["b64_json"].get<std::string>()),
            images[1]);
  EXPECT_EQ(sim.requests(kSubmits), 1);
}

TEST(Kling, ASizeKlingCannotMakeIsRefusedBeforeAnyTask) {
  Simulator sim;
  Gateway gateway(klingGateway(sim));
  HttpResponse size =
      generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"p","size":"1792x1024"})");
  EXPECT_EQ(size.status, 400);
  EXPECT_EQ(json::parse(size.body)["error"]["param"], "size");
  EXPECT_EQ(sim.requests(kSubmits), 0);
}

HttpCall klingEdit(const std::string& image, const std::string& extra_part = "") {
  HttpCall call;
  call.method = "POST";
  call.path = "/v1/images/edits";
  call.headers = {{"Content-Type", "multipart/form-data; boundary=kb"}};
  call.body =
      "--kb\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nkling-v3\r\n"
      "--kb\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nadd a hat\r\n"
      "--kb\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
      "Content-Type: image/png\r\n\r\n" +
      image + "\r\n" + extra_part + "--kb--\r\n";
  return call;
}

// Kling edits nothing, but makes images from a reference: an edit's image goes as that
// reference, and the answer is the OpenAI edit answer (cached like any edit).
TEST(Kling, AnEditSendsItsImageAsKlingsReference) {
  Simulator sim;
  GatewayOptions options = klingGateway(sim);
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  const std::string image("\x89PNG\r\n\x1a\n-reference-", 19);
  HttpResponse response = httpRequest(gateway.port(), klingEdit(image));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_TRUE(looksLikePng(
      base64Decode(json::parse(response.body)["data"][0]["b64_json"].get<std::string>())));
  json submitted = json::parse(json::parse(sim.lastRequestJson())["body"].get<std::string>());
  EXPECT_EQ(submitted["model_name"], "kling-v3-upstream");
  EXPECT_EQ(submitted["prompt"], "add a hat");
  EXPECT_EQ(base64Decode(submitted["image"].get<std::string>()), image);
  HttpResponse repeat = httpRequest(gateway.port(), klingEdit(image));
  EXPECT_EQ(repeat.header("x-arkroute-cache"), "HIT");
  EXPECT_EQ(repeat.body, response.body);

  HttpResponse masked = httpRequest(
      gateway.port(), klingEdit(image,
                                "--kb\r\nContent-Disposition: form-data; name=\"mask\"; "
                                "filename=\"m.png\"\r\nContent-Type: image/png\r\n\r\nmask\r\n"));
  EXPECT_EQ(masked.status, 400) << masked.body;
  EXPECT_EQ(json::parse(masked.body)["error"]["param"], "mask");
  EXPECT_EQ(sim.requests(kSubmits), 1);
}

// Without the cache nobody waits for the images once the client has gone: the polling stops.
TEST(Kling, AClientThatLeavesStopsThePolling) {
  Simulator sim;
  Gateway gateway(klingGateway(sim, "", kKlingKeys, "1s"));
  // The client leaves once the task is submitted (a fixed wait could end before the submit).
  ASSERT_TRUE(postThenLeave(gateway.port(), "/v1/images/generations",
                            R"({"model":"kling-v3","prompt":"left early"})",
                            [&] { return sim.requests(kSubmits) >= 1; }));
  std::this_thread::sleep_for(1500ms);  // a poll would have come at 1 s
  EXPECT_EQ(sim.requests(kSubmits), 1);
  EXPECT_EQ(sim.requests(kPolls), 0);
  EXPECT_EQ(sim.requests("/_sim/images"), 0);
  // The task was submitted, and Kling bills it: it counts at the estimate.
  std::string metrics = httpGet(gateway.port(), "/metrics").body;
  EXPECT_NE(metrics.find("arkroute_cost_usd_total{model=\"kling-v3\"} 0.02\n"), std::string::npos)
      << metrics;
}

TEST(Kling, OverHttpsTheApiAndTheImagesAreVerified) {
  TempDir certs;
  ASSERT_TRUE(makeCertificate(certs, "localhost"));
  Simulator sim({"--tls-cert", certs.file("cert.pem"), "--tls-key", certs.file("key.pem")});
  GatewayOptions options = klingGateway(sim, "ca_file = \"" + certs.file("cert.pem") + "\"\n");
  options.upstream_base_url = "https://localhost:" + std::to_string(sim.port()) + "/kling";
  Gateway gateway(options);
  HttpResponse response =
      generateKling(gateway.port(), R"({"model":"kling-v3","prompt":"over tls","n":2})");
  ASSERT_EQ(response.status, 200) << response.body;
  json answer = json::parse(response.body);
  ASSERT_EQ(answer["data"].size(), 2u);
  // The simulator hands out https image URLs only when it serves TLS (its stats are https too).
  EXPECT_TRUE(looksLikePng(base64Decode(answer["data"][1]["b64_json"].get<std::string>())));
}

}  // namespace
}  // namespace arkroute::testing
