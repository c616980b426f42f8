// Kling's asynchronous image API for the simulator: submit validation (simdjson), the task map
// and its deterministic lifecycle, and Kling-style JSON answers (nlohmann::json).
#include "tests/sim/sim_kling.h"

#include <simdjson.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/sim/sim_pending.h"
#include "tests/sim/sim_server.h"

namespace arkroute::sim {

namespace {

constexpr std::string_view kGenerations = "/kling/v1/images/generations";
constexpr size_t kMaxPromptChars = 2500;
constexpr size_t kMaxTasks = 4096;
constexpr std::array<std::string_view, 8> kAspectRatios = {"16:9", "9:16", "1:1", "4:3",
                                                           "3:4",  "3:2",  "2:3", "21:9"};

int64_t nowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// UTF-8 code points (simdjson has validated the text).
size_t charCount(std::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

bool absent(simdjson::dom::element root, const char* key, simdjson::dom::element* value) {
  return root[key].get(*value) != simdjson::SUCCESS || value->is_null();
}

// An optional string field: left as is when absent or null; an error when of another type.
std::optional<std::string> readString(simdjson::dom::element root, const char* key,
                                      std::string* out) {
  simdjson::dom::element value;
  if (absent(root, key, &value)) return std::nullopt;
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS) return std::string(key) + " must be a string";
  *out = std::string(text);
  return std::nullopt;
}

std::optional<std::string> readPrompt(simdjson::dom::element root, std::string* out) {
  simdjson::dom::element value;
  if (absent(root, "prompt", &value)) return "prompt is required";
  if (auto why = readString(root, "prompt", out)) return why;
  if (out->empty()) return "prompt must not be empty";
  if (charCount(*out) > kMaxPromptChars) return "prompt is longer than 2500 characters";
  return std::nullopt;
}

std::optional<std::string> readN(simdjson::dom::element root, int* out) {
  simdjson::dom::element value;
  if (absent(root, "n", &value)) return std::nullopt;
  int64_t n = 0;
  if (value.get(n) != simdjson::SUCCESS || n < 1 || n > 9)
    return "n must be an integer from 1 to 9";
  *out = static_cast<int>(n);
  return std::nullopt;
}

std::optional<std::string> checkChoices(const KlingSubmit& submit) {
  if (submit.model_name.empty()) return "model_name must not be empty";
  if (std::find(kAspectRatios.begin(), kAspectRatios.end(), submit.aspect_ratio) ==
      kAspectRatios.end()) {
    return "aspect_ratio must be one of 16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, 21:9";
  }
  if (submit.resolution != "1k" && submit.resolution != "2k") return "resolution must be 1k or 2k";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> parseKlingSubmit(const std::string& body, KlingSubmit* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return "body must be a JSON object";
  }
  if (auto why = readPrompt(root, &out->prompt)) return why;
  for (auto [key, field] :
       {std::pair{"model_name", &out->model_name},
        std::pair{"negative_prompt", &out->negative_prompt},
        std::pair{"aspect_ratio", &out->aspect_ratio}, std::pair{"resolution", &out->resolution}}) {
    if (auto why = readString(root, key, field)) return why;
  }
  if (auto why = readN(root, &out->n)) return why;
  return checkChoices(*out);
}

ImageParams klingImageParams(const KlingSubmit& submit) {
  ImageParams params;
  params.prompt = submit.prompt;
  params.model = submit.model_name;
  params.size = submit.aspect_ratio + "/" + submit.resolution;
  params.seed = "kling:" + submit.negative_prompt;
  params.response_format = "url";
  params.n = submit.n;
  return params;
}

KlingApi::KlingApi(SimServer& server, KlingKeys keys) : server_(server), keys_(std::move(keys)) {
  char prefix[9];
  std::snprintf(prefix, sizeof prefix, "%08x", std::random_device{}());
  id_prefix_ = prefix;
}

std::string KlingApi::statsKey(const std::string& path) {
  if (path.size() > kGenerations.size() + 1 && path.starts_with(kGenerations) &&
      path[kGenerations.size()] == '/') {
    return std::string(kGenerations) + "/{id}";
  }
  return path;
}

void KlingApi::handle(evhttp_request* req, const std::string& path) {
  evhttp_cmd_type method = evhttp_request_get_command(req);
  bool is_submit = path == kGenerations && method == EVHTTP_REQ_POST;
  std::string body = is_submit ? requestBody(req) : "";
  if (is_submit) server_.rememberRequest(req, path, body);  // even when refused: tests read it
  const char* authorization =
      evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  if (auto why = checkKlingAuthorization(authorization, keys_, std::time(nullptr))) {
    return sendBody(req, 401, "application/json", error(1004, *why));
  }
  if (is_submit) return submit(req, body);
  std::string task_id = statsKey(path) != path ? path.substr(kGenerations.size() + 1) : "";
  if (!task_id.empty() && task_id.find('/') == std::string::npos && method == EVHTTP_REQ_GET) {
    return poll(req, task_id);
  }
  sendBody(req, 404, "application/json", error(1200, "unknown path " + path));
}

void KlingApi::submit(evhttp_request* req, const std::string& body) {
  KlingSubmit fields;
  if (auto why = parseKlingSubmit(body, &fields)) {
    return sendBody(req, 400, "application/json", error(1201, *why));
  }
  const char* given = server_.activeFault(req);
  std::string fault = given ? given : "";
  if (fault == "stall" || fault == "reset-before-headers") {
    return server_.newPending(req, ImageParams{}, fault, {})->begin(0);
  }
  if (fault == "429") return answerLater(req, 429, error(1302, "rate limit exceeded"));
  // Kling's other 429s: the account (1102, resource pack used up) and the IP allow list (1304).
  if (fault == "kling-no-credit")
    return answerLater(req, 429, error(1102, "resource pack used up"));
  if (fault == "kling-ip-refused") return answerLater(req, 429, error(1304, "IP not allowed"));
  if (fault == "500") return answerLater(req, 500, error(5000, "internal error"));
  bool kept = fault == "kling-task-failed" || fault == "kling-poll-500" ||
              fault.starts_with("kling-images-");
  std::string task_id = addTask(fields, kept ? fault : "");
  const Task& task = tasks_.at(task_id);
  // The task is made (and would be billed), but its answer is not one a client can read.
  if (fault == "kling-submit-garbled") return answerLater(req, 200, "<html>accepted</html>");
  nlohmann::json data = {{"task_id", task_id},
                         {"task_status", task.status},
                         {"created_at", task.created_at},
                         {"updated_at", task.updated_at}};
  nlohmann::json answer = {
      {"code", 0}, {"message", "SUCCEED"}, {"request_id", newId("req")}, {"data", data}};
  answerLater(req, 200, answer.dump());
}

void KlingApi::answerLater(evhttp_request* req, int status, const std::string& body) {
  PendingRequest* pending = server_.newPending(req, ImageParams{}, "", {});
  pending->reply_status = status;
  pending->reply_body = body;
  pending->begin(server_.latencyFor(req));
}

std::string KlingApi::addTask(const KlingSubmit& submit, const std::string& fault) {
  if (tasks_.size() >= kMaxTasks) tasks_.clear();
  std::string task_id = newId("task");
  Task& task = tasks_[task_id];
  task.params = klingImageParams(submit);
  task.fault = fault;
  task.created_at = task.updated_at = nowMs();
  return task_id;
}

void KlingApi::poll(evhttp_request* req, const std::string& task_id) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) {
    return sendBody(req, 404, "application/json", error(1203, "task not found"));
  }
  Task& task = it->second;
  if (task.fault == "kling-poll-500") {
    return sendBody(req, 500, "application/json", error(5000, "internal error"));
  }
  std::string status = ++task.polls == 1                   ? "processing"
                       : task.fault == "kling-task-failed" ? "failed"
                                                           : "succeed";
  if (status != task.status) {
    task.status = status;
    task.updated_at = nowMs();
  }
  sendBody(req, 200, "application/json", taskJson(req, task_id, task));
}

std::string KlingApi::taskJson(evhttp_request* req, const std::string& task_id, const Task& task) {
  bool failed = task.status == "failed";
  nlohmann::json data = {
      {"task_id", task_id},
      {"task_status", task.status},
      {"task_status_msg", failed ? "Failure to pass the risk control system" : ""},
      {"created_at", task.created_at},
      {"updated_at", task.updated_at}};
  if (task.status == "succeed") {
    nlohmann::json images = nlohmann::json::array();
    for (int i = 0; i < task.params.n; ++i) {
      std::string url = server_.imageUrl(req, ImageFactory::imageKey(task.params, i));
      if (task.fault == "kling-images-gone") url.insert(url.rfind('/') + 1, "gone-");  // a 404
      if (task.fault == "kling-images-flaky") url.insert(url.rfind('/') + 1, "flaky-");
      images.push_back({{"index", i}, {"url", url}});
    }
    data["task_result"] = {{"images", images}};
  }
  return nlohmann::json{
      {"code", 0}, {"message", "SUCCEED"}, {"request_id", newId("req")}, {"data", data}}
      .dump();
}

std::string KlingApi::error(int code, const std::string& message) {
  nlohmann::json answer = {{"code", code}, {"message", message}, {"request_id", newId("req")}};
  return answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // a raw path
}

std::string KlingApi::newId(const char* kind) {
  return std::string("sim-") + kind + "-" + id_prefix_ + "-" + std::to_string(++next_id_);
}

}  // namespace arkroute::sim
