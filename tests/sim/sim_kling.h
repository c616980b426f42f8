// The simulator's Kling image API under /kling (the path prefix of a Kling upstream pointed at
// the simulator): JWT auth on every request, POST /kling/v1/images/generations submits a task
// (validated; latency and x-sim-fault as for generations), GET .../generations/{task_id} polls it:
// "processing" at the first poll, "succeed" (image URLs served by the simulator) at every later
// one. Faults on the submit: 429, 500, kling-no-credit (429 code 1102), kling-ip-refused (429 code
// 1304), kling-task-failed (the task ends "failed"),
// kling-images-gone (its image URLs answer 404), kling-images-flaky (each answers 503 once),
// kling-poll-500
// (every poll answers 500), stall, reset-before-headers. Errors are Kling's {code, message,
// request_id}. Tasks are kept (a bounded map) across POST /_sim/reset.
#pragma once

#include <event2/http.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tests/sim/sim_images.h"
#include "tests/sim/sim_kling_jwt.h"

namespace arkroute::sim {

class SimServer;

// A submit's fields, defaults filled in.
struct KlingSubmit {
  std::string model_name = "kling-v1", prompt, negative_prompt, aspect_ratio = "16:9";
  std::string resolution = "1k";
  int n = 1;
};

// Reads a submit body into *out (unknown fields ignored, null as absent); returns what is wrong
// (field and why, for a 400 with code 1201) when the body is invalid.
std::optional<std::string> parseKlingSubmit(const std::string& body, KlingSubmit* out);

// The ImageParams whose imageKey() names a Kling task's images: same inputs, same PNG bytes.
ImageParams klingImageParams(const KlingSubmit& submit);

class KlingApi {
 public:
  KlingApi(SimServer& server, KlingKeys keys);
  // Answers a request whose path starts with "/kling/" (now or, for a submit, after its latency).
  void handle(evhttp_request* req, const std::string& path);
  // The GET /_sim/stats key of a request path: all polls count under one key.
  static std::string statsKey(const std::string& path);

 private:
  struct Task {
    ImageParams params;
    std::string fault;  // "", "kling-task-failed", "kling-poll-500", "kling-images-*"
    std::string status = "submitted";
    int polls = 0;
    int64_t created_at = 0, updated_at = 0;  // unix ms
  };

  void submit(evhttp_request* req, const std::string& body);
  void poll(evhttp_request* req, const std::string& task_id);
  void answerLater(evhttp_request* req, int status, const std::string& body);
  std::string addTask(const KlingSubmit& submit, const std::string& fault);
  std::string taskJson(evhttp_request* req, const std::string& task_id, const Task& task);
  std::string error(int code, const std::string& message);
  std::string newId(const char* kind);

  SimServer& server_;
  KlingKeys keys_;
  std::map<std::string, Task> tasks_;
  std::string id_prefix_;  // random per process: ids stay unique across simulator restarts
  uint64_t next_id_ = 0;
};

}  // namespace arkroute::sim
