// Translation between the OpenAI Images API and Kling's task API (simdjson to read, nlohmann to
// write).
#include "proxy/kling_protocol.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "proxy/edit_as_generation.h"
#include "proxy/http/multipart_form.h"
#include "proxy/image_response.h"
#include "proxy/json_text.h"

namespace arkroute::kling {

namespace {

using simdjson::dom::element;

constexpr std::array<std::string_view, 8> kAspectRatios = {"16:9", "9:16", "1:1", "4:3",
                                                           "3:4",  "3:2",  "2:3", "21:9"};

bool knownRatio(std::string_view ratio) {
  for (std::string_view known : kAspectRatios) {
    if (known == ratio) return true;
  }
  return false;
}

std::string supportedRatios() {
  std::string out;
  for (std::string_view ratio : kAspectRatios)
    out += (out.empty() ? "" : ", ") + std::string(ratio);
  return out;
}

// "1536x1024" → "3:2"; "" when it is not WxH.
std::string ratioOf(std::string_view size) {
  size_t x = size.find('x');
  if (x == std::string_view::npos) return "";
  long width = 0, height = 0;
  try {
    size_t used = 0;
    width = std::stol(std::string(size.substr(0, x)), &used);
    if (used != x) return "";
    height = std::stol(std::string(size.substr(x + 1)), &used);
    if (used != size.size() - x - 1) return "";
  } catch (const std::exception&) {
    return "";
  }
  if (width <= 0 || height <= 0) return "";
  long divisor = std::gcd(width, height);
  return std::to_string(width / divisor) + ":" + std::to_string(height / divisor);
}

std::string_view stringField(element object, const char* key) {
  std::string_view value;
  if (object[key].get(value) != simdjson::SUCCESS) return {};
  return value;
}

std::variant<std::string, ApiError> aspectRatio(element request) {
  if (std::string_view given = stringField(request, "aspect_ratio"); !given.empty()) {
    if (knownRatio(given)) return std::string(given);
    return ApiError::invalidValue("Kling makes the aspect ratios " + supportedRatios() +
                                      "; aspect_ratio '" + std::string(given) + "' is none.",
                                  "aspect_ratio");
  }
  std::string_view size = stringField(request, "size");
  if (size.empty() || size == "auto") return std::string();
  std::string ratio = knownRatio(size) ? std::string(size) : ratioOf(size);
  if (knownRatio(ratio)) return ratio;
  return ApiError::invalidValue(
      "Kling makes the aspect ratios " + supportedRatios() + "; size '" + std::string(size) +
          "' is none of them (e.g. 1024x1024, 1536x1024, 1024x1536, or send aspect_ratio).",
      "size");
}

std::optional<ApiError> copyCount(element request, nlohmann::json* out) {
  element n;
  if (request["n"].get(n) != simdjson::SUCCESS || n.is_null()) return std::nullopt;
  int64_t count = 0;
  double number = 0;  // 2.0 is 2, as the request's own check has it
  if (n.get(count) != simdjson::SUCCESS && n.get(number) == simdjson::SUCCESS && number >= 1 &&
      number <= 9 && std::floor(number) == number) {
    count = static_cast<int64_t>(number);
  }
  if (count < 1 || count > 9) {
    return ApiError::invalidValue("Kling makes 1 to 9 images per request ('n').", "n");
  }
  (*out)["n"] = count;
  return std::nullopt;
}

std::string resolution(element request) {
  std::string_view given = stringField(request, "resolution");
  if (given == "1k" || given == "2k") return std::string(given);
  std::string_view quality = stringField(request, "quality");
  return quality == "high" || quality == "hd" ? "2k" : "";
}

ApiError notATask(std::string_view upstream_name, std::string_view why) {
  return ApiError::upstreamFailure(
      502,
      "The Kling upstream '" + std::string(upstream_name) +
          "' answered something that is not a task: " + std::string(why),
      "bad_upstream_response");
}

ApiError klingError(int status, int64_t code, std::string_view message,
                    std::string_view upstream_name) {
  std::string text = "The Kling upstream '" + std::string(upstream_name) + "' refused the task: " +
                     (message.empty() ? std::string("no reason given") : std::string(message)) +
                     (code != 0 ? " (Kling code " + std::to_string(code) + ")" : "");
  // Without a Kling code (an HTTP error page): the gateway's own code, none invented.
  std::string error_code = code != 0 ? "kling_" + std::to_string(code) : "upstream_error";
  // Kling answers HTTP 429 for more than rate limits: 1100-1102 are the account (in arrears, its
  // resource pack used up) and 1304 its IP allow list. No retry helps those, here or in the client.
  if (code >= 1100 && code <= 1102) {
    ApiError error = ApiError::insufficientQuota(std::move(text));
    error.source = ErrorSource::kUpstream;
    error.no_retry = true;
    return error;
  }
  if (code == 1304) return ApiError::upstreamFailure(403, std::move(text), "kling_1304");
  if (code == 1302 || code == 1303 || status == 429) {
    // Kling's own wait, if it gave one, goes on as its retry-after header: none is made up here.
    return ApiError{429,          std::move(text),       "requests",
                    std::nullopt, "rate_limit_exceeded", ErrorSource::kUpstream};
  }
  if (status == 400 || status == 404 || status == 422) {
    ApiError error = ApiError::invalidRequest(std::move(text), std::nullopt, std::move(error_code));
    error.status = status;
    error.source = ErrorSource::kUpstream;
    return error;
  }
  return ApiError::upstreamFailure(status >= 400 ? status : 502, std::move(text),
                                   std::move(error_code));
}

std::variant<TaskState, ApiError> readTask(element data, std::string_view upstream_name) {
  TaskState task;
  task.task_id = std::string(stringField(data, "task_id"));
  if (task.task_id.empty()) return notATask(upstream_name, "no data.task_id");
  bool plain = std::all_of(task.task_id.begin(), task.task_id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });  // it goes into the poll's path as it is
  if (!plain) return notATask(upstream_name, "a task_id with characters a path cannot carry");
  int64_t created_ms = 0;
  if (data["created_at"].get(created_ms) == simdjson::SUCCESS) task.created = created_ms / 1000;
  std::string_view status = stringField(data, "task_status");
  if (status.empty()) return notATask(upstream_name, "no data.task_status");
  if (status == "failed") {
    task.status = TaskState::Status::kFailed;
    task.message = std::string(stringField(data, "task_status_msg"));
    return task;
  }
  // "submitted", "processing", or a state this gateway does not know yet: the task goes on.
  if (status != "succeed") return task;
  simdjson::dom::array images;
  if (data["task_result"]["images"].get(images) != simdjson::SUCCESS) {
    return notATask(upstream_name, "a finished task without task_result.images");
  }
  for (element image : images) {
    std::string_view url = stringField(image, "url");
    if (url.empty()) return notATask(upstream_name, "an image without a url");
    task.image_urls.emplace_back(url);
  }
  if (task.image_urls.empty()) return notATask(upstream_name, "a finished task with no images");
  task.status = TaskState::Status::kSucceeded;
  return task;
}

// The Kling task for an OpenAI request's fields, and how it is to be answered.
std::variant<nlohmann::json, ApiError> taskFor(element request, Submission* answer) {
  nlohmann::json out = {{"model_name", std::string(stringField(request, "model"))},
                        {"prompt", std::string(stringField(request, "prompt"))}};
  if (auto error = copyCount(request, &out)) return *error;
  auto ratio = aspectRatio(request);
  if (auto* error = std::get_if<ApiError>(&ratio)) return *error;
  if (auto& value = std::get<std::string>(ratio); !value.empty()) out["aspect_ratio"] = value;
  if (std::string value = resolution(request); !value.empty()) out["resolution"] = value;
  if (std::string_view negative = stringField(request, "negative_prompt"); !negative.empty()) {
    out["negative_prompt"] = std::string(negative);
  }
  bool stream = false;
  if (request["stream"].get(stream) != simdjson::SUCCESS) stream = false;
  answer->stream = stream;
  answer->wants_urls = !stream && stringField(request, "response_format") == "url";
  return out;
}

// taskFor() on a JSON text, with the edit's reference image (base64) added to the task.
std::variant<Submission, ApiError> submissionFor(std::string_view json,
                                                 std::string_view image_base64 = {}) {
  simdjson::dom::parser parser;
  element request;
  if (parser.parse(json.data(), json.size()).get(request) != simdjson::SUCCESS ||
      !request.is_object()) {
    return ApiError::invalidRequest("The request body must be a JSON object.");
  }
  Submission submission;
  auto task = taskFor(request, &submission);
  if (auto* error = std::get_if<ApiError>(&task)) return *error;
  submission.body = std::get<nlohmann::json>(task).dump();
  if (!image_base64.empty()) {  // megabytes: written as they are, not through a JSON tree
    json_text::addStringMember(submission.body, "image", image_base64);
  }
  return submission;
}

}  // namespace

std::variant<Submission, ApiError> translateRequest(std::string_view openai_json) {
  return submissionFor(openai_json);
}

std::variant<Submission, ApiError> translateEdit(std::string_view form_body,
                                                 std::string_view content_type) {
  auto boundary = http::formBoundary(content_type);
  if (!boundary) return ApiError::invalidRequest("The edit must be multipart/form-data.");
  auto parsed = http::parseForm(form_body, *boundary);
  if (auto* why = std::get_if<std::string>(&parsed)) return ApiError::invalidRequest(*why);
  auto read = readEditAsGeneration(form_body, std::get<std::vector<http::FormPart>>(parsed));
  if (auto* error = std::get_if<ApiError>(&read)) return *error;
  const EditAsGeneration& edit = std::get<EditAsGeneration>(read);
  if (edit.mask) return ApiError::invalidValue("Kling edits take no mask.", "mask");
  if (edit.images.size() > 1) {
    return ApiError::invalidValue("Kling takes one reference image per edit.", "image");
  }
  std::string_view reference = edit.images[0]->value(form_body);
  if (!edit.images[0]->content_type.starts_with("image/") &&
      !detectImageType(reference).starts_with("image/")) {
    return ApiError::invalidValue("The file '" + edit.images[0]->filename.value_or("") +
                                      "' is not an image Kling reads (PNG, JPEG, WebP or GIF).",
                                  "image");
  }
  // Kling: the reference image as base64 without a data: prefix
  return submissionFor(edit.fields.dump(), encodeBase64(reference));
}

std::variant<TaskState, ApiError> readTaskAnswer(int http_status, std::string_view body,
                                                 std::string_view upstream_name) {
  simdjson::dom::parser parser;
  element answer;
  if (parser.parse(body.data(), body.size()).get(answer) != simdjson::SUCCESS ||
      !answer.is_object()) {
    if (http_status >= 400)
      return klingError(http_status, 0, "HTTP " + std::to_string(http_status), upstream_name);
    return notATask(upstream_name, "a body that is not a JSON object");
  }
  int64_t code = 0;
  bool has_code = answer["code"].get(code) == simdjson::SUCCESS;
  if (http_status >= 400 || (has_code && code != 0)) {
    return klingError(http_status, code, stringField(answer, "message"), upstream_name);
  }
  element data;
  if (answer["data"].get(data) != simdjson::SUCCESS || !data.is_object()) {
    return notATask(upstream_name, "no data object");
  }
  return readTask(data, upstream_name);
}

std::string imagesResponse(int64_t created, const std::vector<std::string>& items, bool urls) {
  std::string out = "{\"created\":" + std::to_string(created) + ",\"data\":[";
  for (const std::string& item : items) {
    if (out.back() != '[') out.push_back(',');
    json_text::ObjectWriter(out).string(urls ? "url" : "b64_json", item).close();
  }
  out.append("]}");
  return out;
}

}  // namespace arkroute::kling
