// Kling's image API (asynchronous tasks) in OpenAI terms, as pure functions: an OpenAI Images
// request becomes a task submission, Kling's submit and poll answers are read into a task state
// or an OpenAI-style error, and a finished task's images become an OpenAI Images response. The
// exchange itself (submit, poll, download) is kling_call.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proxy/api_error.h"

namespace arkroute::kling {

// Submit with POST, poll with GET <path>/<task_id>, both under the upstream's base_url.
inline constexpr std::string_view kTasksPath = "/v1/images/generations";

struct Submission {
  std::string body;         // Kling's JSON
  bool wants_urls = false;  // response_format "url": answered with Kling's own image URLs
  bool stream = false;      // answered as SSE: one image_generation.completed event per image
};

// model → model_name, prompt, n (1–9), size "WxH" (or aspect_ratio) → aspect_ratio, quality
// "high"/"hd" (or resolution) → resolution "2k", negative_prompt. Other OpenAI fields are
// ignored; a size whose ratio Kling does not make is refused (400).
std::variant<Submission, ApiError> translateRequest(std::string_view openai_json);

// An OpenAI edit (multipart/form-data: its text fields as above, one image) as a Kling generation
// with that image as its reference ("image", base64). A mask, or more than one image, is refused.
std::variant<Submission, ApiError> translateEdit(std::string_view form_body,
                                                 std::string_view content_type);

struct TaskState {
  enum class Status { kPending, kSucceeded, kFailed };
  Status status = Status::kPending;
  std::string task_id;
  std::string message;                  // why it failed
  std::vector<std::string> image_urls;  // when succeeded, never empty
  int64_t created = 0;                  // Unix seconds (0 when Kling gave none)
};

// Reads a submit or poll answer (http_status and body as Kling sent them). Kling's errors (a
// status ≥ 400, or "code" not 0) become OpenAI-style errors with the same status (429 for
// Kling's rate and concurrency codes 1302/1303); anything that is not a task becomes a 502.
std::variant<TaskState, ApiError> readTaskAnswer(int http_status, std::string_view body,
                                                 std::string_view upstream_name);

// {"created":…,"data":[{"b64_json":…}…]} or, with urls, [{"url":…}…].
std::string imagesResponse(int64_t created, const std::vector<std::string>& items, bool urls);

}  // namespace arkroute::kling
