// Kling's protocol in OpenAI terms: the token, the request translation, the reading of task
// answers and the OpenAI answer built from a finished task.
#include "proxy/kling_protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/kling_jwt.h"

namespace arkroute::kling {
namespace {

using nlohmann::json;

json submitted(std::string_view openai) {
  auto translated = translateRequest(openai);
  EXPECT_TRUE(std::holds_alternative<Submission>(translated))
      << std::get<ApiError>(translated).message;
  if (!std::holds_alternative<Submission>(translated)) return {};
  return json::parse(std::get<Submission>(translated).body);
}

ApiError refused(std::string_view openai) {
  auto translated = translateRequest(openai);
  EXPECT_TRUE(std::holds_alternative<ApiError>(translated));
  return std::holds_alternative<ApiError>(translated) ? std::get<ApiError>(translated) : ApiError{};
}

TEST(KlingJwt, MatchesAnIndependentlyComputedToken) {
  // Python's hmac/hashlib/base64 over the same claims (iss, exp = now + 1800, nbf = now - 5).
  EXPECT_EQ(makeJwt("ak-123:secret/+key", 1700000000),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJleHAiOjE3MDAwMDE4MDAsImlzcyI6ImFrLTEyMyIsIm5iZiI6MTY5OTk5OTk5NX0."
            "jmJcpW6FxCqGjJ7PYezRyPRp_HMbH3y4HZCaN_atkJg");
}

TEST(KlingJwt, AnotherSecretSignsDifferently) {
  std::string token = makeJwt("ak-123:secret/+key", 1700000000);
  std::string other = makeJwt("ak-123:secret/+kez", 1700000000);
  EXPECT_EQ(token.substr(0, token.rfind('.')), other.substr(0, other.rfind('.')));
  EXPECT_NE(token, other);
}

TEST(KlingTranslate, MapsTheOpenAIFields) {
  json body =
      submitted(R"({"model":"kling-v3","prompt":"a fox","n":3,"size":"1536x1024","quality":"high",)"
                R"("negative_prompt":"blur","output_format":"png","background":"auto"})");
  EXPECT_EQ(body,
            json::parse(R"({"model_name":"kling-v3","prompt":"a fox","n":3,)"
                        R"("aspect_ratio":"3:2","resolution":"2k","negative_prompt":"blur"})"));
}

TEST(KlingTranslate, LeavesOutWhatWasNotAsked) {
  EXPECT_EQ(submitted(R"({"model":"kling-v3","prompt":"a fox","size":"auto","quality":"low"})"),
            json::parse(R"({"model_name":"kling-v3","prompt":"a fox"})"));
}

TEST(KlingTranslate, SizesBecomeAspectRatios) {
  EXPECT_EQ(submitted(R"({"model":"k","prompt":"p","size":"1024x1024"})")["aspect_ratio"], "1:1");
  EXPECT_EQ(submitted(R"({"model":"k","prompt":"p","size":"1024x1536"})")["aspect_ratio"], "2:3");
  EXPECT_EQ(submitted(R"({"model":"k","prompt":"p","size":"1920x1080"})")["aspect_ratio"], "16:9");
  EXPECT_EQ(submitted(R"({"model":"k","prompt":"p","size":"21:9"})")["aspect_ratio"], "21:9");
  EXPECT_EQ(
      submitted(
          R"({"model":"k","prompt":"p","size":"1024x1024","aspect_ratio":"9:16"})")["aspect_ratio"],
      "9:16");
}

TEST(KlingTranslate, RefusesWhatKlingCannotMake) {
  ApiError size = refused(R"({"model":"k","prompt":"p","size":"1792x1024"})");
  EXPECT_EQ(size.status, 400);
  EXPECT_EQ(size.param, "size");
  EXPECT_NE(size.message.find("16:9"), std::string::npos) << size.message;
  EXPECT_EQ(refused(R"({"model":"k","prompt":"p","size":"12x"})").param, "size");
  EXPECT_EQ(refused(R"({"model":"k","prompt":"p","aspect_ratio":"5:4"})").param, "aspect_ratio");
  EXPECT_EQ(refused(R"({"model":"k","prompt":"p","n":10})").param, "n");
  EXPECT_EQ(refused(R"({"model":"k","prompt":"p","n":0})").param, "n");
  EXPECT_EQ(refused(R"({"model":"k","prompt":"p","n":2.5})").param, "n");
  EXPECT_EQ(refused(R"({"model":"k","prompt":"p","n":9.0e300})").param, "n");
  EXPECT_EQ(submitted(R"({"model":"k","prompt":"p","n":2.0})")["n"], 2) << "2.0 is 2";
  EXPECT_EQ(refused("[1]").status, 400);
}

TEST(KlingTranslate, UrlAnswersAndStreamsAreAskedFor) {
  auto url = translateRequest(R"({"model":"k","prompt":"p","response_format":"url"})");
  auto b64 = translateRequest(R"({"model":"k","prompt":"p","response_format":"b64_json"})");
  auto stream = translateRequest(R"({"model":"k","prompt":"p","stream":true})");
  auto url_stream =
      translateRequest(R"({"model":"k","prompt":"p","stream":true,"response_format":"url"})");
  EXPECT_TRUE(std::get<Submission>(url).wants_urls);
  EXPECT_FALSE(std::get<Submission>(url).stream);
  EXPECT_FALSE(std::get<Submission>(b64).wants_urls);
  EXPECT_TRUE(std::get<Submission>(stream).stream);
  EXPECT_FALSE(std::get<Submission>(stream).wants_urls);
  EXPECT_FALSE(std::get<Submission>(url_stream).wants_urls) << "streams carry base64";
  EXPECT_EQ(json::parse(std::get<Submission>(stream).body).count("stream"), 0u);
}

std::string klingForm(const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::vector<std::pair<std::string, std::string>>& files) {
  std::string body;
  for (const auto& [name, value] : fields) {
    body +=
        "--kb\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  }
  for (const auto& [name, bytes] : files) {
    body += "--kb\r\nContent-Disposition: form-data; name=\"" + name +
            "\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n" + bytes + "\r\n";
  }
  return body + "--kb--\r\n";
}

constexpr std::string_view kFormType = "multipart/form-data; boundary=kb";

TEST(KlingEdit, IsAGenerationWithItsImageAsReference) {
  auto translated = translateEdit(klingForm({{"model", "kling-v3"},
                                             {"prompt", "add a hat"},
                                             {"n", "2"},
                                             {"size", "1024x1024"},
                                             {"stream", "true"}},
                                            {{"image[]", std::string("\x89PNG\0\x01", 6)}}),
                                  kFormType);
  ASSERT_TRUE(std::holds_alternative<Submission>(translated))
      << std::get<ApiError>(translated).message;
  const Submission& submission = std::get<Submission>(translated);
  EXPECT_TRUE(submission.stream);
  EXPECT_EQ(json::parse(submission.body),
            json::parse(R"({"model_name":"kling-v3","prompt":"add a hat","n":2,)"
                        R"("aspect_ratio":"1:1","image":"iVBORwAB"})"));
}

TEST(KlingEdit, RefusesWhatKlingCannotTake) {
  auto param = [](const std::string& form) {
    auto translated = translateEdit(form, kFormType);
    return std::holds_alternative<ApiError>(translated)
               ? std::get<ApiError>(translated).param.value_or("(none)")
               : std::string("(accepted)");
  };
  EXPECT_EQ(param(klingForm({{"prompt", "p"}}, {{"image", "a"}, {"mask", "m"}})), "mask");
  EXPECT_EQ(param(klingForm({{"prompt", "p"}}, {{"image[]", "a"}, {"image[]", "b"}})), "image");
  EXPECT_EQ(param(klingForm({{"prompt", "p"}}, {})), "image");
  EXPECT_EQ(param(klingForm({{"prompt", "p"}, {"n", "two"}}, {{"image", "a"}})), "n");
  EXPECT_EQ(param(klingForm({{"prompt", "p"}, {"size", "1792x1024"}}, {{"image", "a"}})), "size");
  EXPECT_TRUE(std::holds_alternative<ApiError>(translateEdit("--kb\r\n", kFormType)));
  const std::string text_file =
      "--kb\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\np\r\n"
      "--kb\r\nContent-Disposition: form-data; name=\"image\"; filename=\"t.txt\"\r\n"
      "Content-Type: text/plain\r\n\r\nhello\r\n--kb--\r\n";
  EXPECT_EQ(param(text_file), "image") << "no paid task for a file that is not an image";
  EXPECT_EQ(param(klingForm({{"prompt", "p"}, {"image", "https://x/a.png"}}, {{"image[]", "a"}})),
            "image")
      << "an image as text and as a file";
}

TaskState task(int status, std::string_view body) {
  auto answer = readTaskAnswer(status, body, "kling");
  EXPECT_TRUE(std::holds_alternative<TaskState>(answer)) << std::get<ApiError>(answer).message;
  return std::holds_alternative<TaskState>(answer) ? std::get<TaskState>(answer) : TaskState{};
}

ApiError taskError(int status, std::string_view body) {
  auto answer = readTaskAnswer(status, body, "kling");
  EXPECT_TRUE(std::holds_alternative<ApiError>(answer));
  return std::holds_alternative<ApiError>(answer) ? std::get<ApiError>(answer) : ApiError{};
}

TEST(KlingTask, ReadsEachState) {
  TaskState pending = task(200, R"({"code":0,"data":{"task_id":"84","task_status":"submitted",)"
                                R"("created_at":1767225600123}})");
  EXPECT_EQ(pending.status, TaskState::Status::kPending);
  EXPECT_EQ(pending.task_id, "84");
  EXPECT_EQ(pending.created, 1767225600);
  EXPECT_EQ(task(200, R"({"code":0,"data":{"task_id":"84","task_status":"queued"}})").status,
            TaskState::Status::kPending)
      << "a state the gateway does not know yet: the task goes on, and is polled";
  EXPECT_EQ(task(200, R"({"code":0,"data":{"task_id":"84","task_status":"processing"}})").status,
            TaskState::Status::kPending);
  TaskState failed = task(200, R"({"code":0,"data":{"task_id":"84","task_status":"failed",)"
                               R"("task_status_msg":"risk control"}})");
  EXPECT_EQ(failed.status, TaskState::Status::kFailed);
  EXPECT_EQ(failed.message, "risk control");
  TaskState done = task(200, R"({"code":0,"data":{"task_id":"84","task_status":"succeed",)"
                             R"("task_result":{"images":[{"index":0,"url":"https://a/1.png"},)"
                             R"({"index":1,"url":"https://a/2.png"}]}}})");
  EXPECT_EQ(done.status, TaskState::Status::kSucceeded);
  EXPECT_EQ(done.image_urls, (std::vector<std::string>{"https://a/1.png", "https://a/2.png"}));
}

TEST(KlingTask, KlingsRefusalsKeepTheirStatus) {
  ApiError rate = taskError(429, R"({"code":1302,"message":"too fast"})");
  EXPECT_EQ(rate.status, 429);
  EXPECT_EQ(rate.code, "rate_limit_exceeded");
  EXPECT_NE(rate.message.find("too fast"), std::string::npos);
  EXPECT_NE(rate.message.find("1302"), std::string::npos);
  EXPECT_EQ(rate.message.find("retry-after"), std::string::npos)
      << "no wait is made up: Kling's own retry-after, if any, is passed on";
  EXPECT_EQ(rate.retry_after_ms, 0);
  EXPECT_EQ(taskError(200, R"({"code":1303,"message":"busy"})").status, 429);
  ApiError invalid = taskError(400, R"({"code":1201,"message":"bad prompt"})");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.type, "invalid_request_error");
  EXPECT_EQ(invalid.code, "kling_1201");
  ApiError auth = taskError(401, R"({"code":1004,"message":"signature invalid"})");
  EXPECT_EQ(auth.status, 401);
  EXPECT_EQ(auth.type, "upstream_error");
  EXPECT_EQ(taskError(500, "<html>").status, 500);
  EXPECT_EQ(taskError(200, R"({"code":5000,"message":"?"})").status, 502);
}

TEST(KlingTask, AnErrorPageWithoutAKlingCodeGetsNoInventedCode) {
  ApiError error = taskError(500, "<html>oops</html>");
  EXPECT_EQ(error.code, "upstream_error");
  EXPECT_EQ(error.message.find("code 0"), std::string::npos) << error.message;
}

TEST(KlingTask, WhatIsNotATaskIsA502) {
  EXPECT_EQ(taskError(200, "not json").status, 502);
  EXPECT_EQ(taskError(200, R"({"code":0})").status, 502);
  EXPECT_EQ(taskError(200, R"({"code":0,"data":{"task_status":"submitted"}})").status, 502);
  EXPECT_EQ(taskError(200, R"({"code":0,"data":{"task_id":"1","task_status":""}})").status, 502);
  EXPECT_EQ(taskError(200, R"({"code":0,"data":{"task_id":"1","task_status":"succeed"}})").status,
            502);
  EXPECT_EQ(taskError(200, R"({"code":0,"data":{"task_id":"1","task_status":"succeed",)"
                           R"("task_result":{"images":[]}}})")
                .status,
            502);
  EXPECT_EQ(
      taskError(200, R"({"code":0,"data":{"task_id":"../x","task_status":"submitted"}})").status,
      502);
}

TEST(KlingAnswer, IsAnOpenAIImagesResponse) {
  EXPECT_EQ(json::parse(imagesResponse(17, {"QUJD", "REVG"}, false)),
            json::parse(R"({"created":17,"data":[{"b64_json":"QUJD"},{"b64_json":"REVG"}]})"));
  EXPECT_EQ(json::parse(imagesResponse(17, {"https://a/1.png"}, true)),
            json::parse(R"({"created":17,"data":[{"url":"https://a/1.png"}]})"));
}

}  // namespace
}  // namespace arkroute::kling
