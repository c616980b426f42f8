// The Kling task exchange as a small state machine driven by one timer: every step (translate,
// submit, wait, poll, download) runs in the timer's callback, never inside a pool's callback, so
// the generation handler may destroy the call from any of its own callbacks.
#include "proxy/kling_call.h"

#include <event2/buffer.h>
#include <event2/http.h>

#include <ctime>
#include <functional>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "proxy/http/error_line.h"
#include "proxy/http/upstream_handler_failure.h"
#include "proxy/image_response.h"
#include "proxy/kling_jwt.h"
#include "proxy/kling_protocol.h"

namespace arkroute::kling {

namespace {

using Clock = std::chrono::steady_clock;
using Kind = http::UpstreamError::Kind;

constexpr size_t kAnswerLimit = 1u << 20;  // a task answer
constexpr size_t kImageLimit = 64u << 20;  // one image
constexpr int kMaxPollFailures = 5;        // in a row: the API is down, not hiccuping
constexpr int kDownloadAttempts = 3;       // per image

// One response collected whole (status, retry-after, body up to a limit), or its failure.
class Collector : public http::UpstreamResponseHandler {
 public:
  Collector(size_t limit, std::function<void()> done) : limit_(limit), done_(std::move(done)) {}
  void onUpstreamHead(int status, const http::Headers& headers) override {
    status_ = status;
    if (auto value = headers.find("retry-after")) retry_after_ = std::string(*value);
  }
  void onUpstreamBody(evbuffer* data) override {
    size_t length = evbuffer_get_length(data);
    if (body_.size() + length > limit_) {
      too_large_ = true;
      evbuffer_drain(data, length);
      return;
    }
    size_t kept = body_.size();
    body_.resize(kept + length);
    evbuffer_remove(data, body_.data() + kept, length);
  }
  void onUpstreamComplete() override { finish(); }
  void onUpstreamError(const http::UpstreamError& error) override {
    error_ = error;
    finish();
  }

  bool finished() const { return finished_; }
  int status() const { return status_; }
  const std::string& body() const { return body_; }
  std::string& body() { return body_; }
  const std::optional<http::UpstreamError>& error() const { return error_; }
  bool tooLarge() const { return too_large_; }
  const std::string& retryAfter() const { return retry_after_; }
  std::unique_ptr<http::UpstreamCall> call;

 private:
  void finish() {
    finished_ = true;
    done_();
  }
  size_t limit_;
  std::function<void()> done_;
  bool finished_ = false;
  int status_ = 0;
  std::string retry_after_;
  std::string body_;
  std::optional<http::UpstreamError> error_;
  bool too_large_ = false;
};

struct ImageLocation {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string target;  // path and query
};

std::optional<ImageLocation> locate(const std::string& url) {
  evhttp_uri* uri = evhttp_uri_parse_with_flags(url.c_str(), 0);
  if (!uri) return std::nullopt;
  ImageLocation where;
  const char* scheme = evhttp_uri_get_scheme(uri);
  const char* host = evhttp_uri_get_host(uri);
  const char* path = evhttp_uri_get_path(uri);
  const char* query = evhttp_uri_get_query(uri);
  std::string scheme_text = scheme ? scheme : "";
  bool ok = host && *host && (scheme_text == "http" || scheme_text == "https");
  if (ok) {
    where.tls = scheme_text == "https";
    where.host = host;
    if (where.host.starts_with('[') && where.host.ends_with(']'))
      where.host = where.host.substr(1, where.host.size() - 2);
    int port = evhttp_uri_get_port(uri);
    where.port = static_cast<uint16_t>(port > 0 ? port : (where.tls ? 443 : 80));
    where.target = path && *path ? path : "/";
    if (query) where.target += std::string("?") + query;
  }
  evhttp_uri_free(uri);
  if (!ok) return std::nullopt;
  return where;
}

class KlingCall final : public http::UpstreamCall {
 public:
  KlingCall(CallSetup setup, http::OutgoingRequest request, http::UpstreamResponseHandler* handler)
      : setup_(std::move(setup)),
        request_(std::move(request)),
        handler_(handler),
        deadline_(Clock::now() + setup_.timeout) {
    timer_ = evtimer_new(setup_.base, &KlingCall::onTimer, this);
    event_active(timer_, EV_TIMEOUT, 1);
  }
  ~KlingCall() override {
    *alive_ = false;
    event_free(timer_);
  }
  void pauseReading() override {}  // the answer is handed over whole
  void resumeReading() override {}
  void cancel() override { stop(); }
  bool reusedConnection() const override { return reused_; }
  // Kling bills a task once it exists: from the submission's sending (its 200 may be on its way)
  // until the answer is handed over, head and all.
  bool awaitingAnswer() const override {
    if (step_ != Step::kSubmit) {
      return step_ == Step::kWait || step_ == Step::kPoll || step_ == Step::kDownload;
    }
    if (!exchange_) return false;
    if (exchange_->status() == 200) return true;
    return !exchange_->finished() && exchange_->call && exchange_->call->awaitingAnswer();
  }

 private:
  enum class Step { kTranslate, kSubmit, kWait, kPoll, kDownload, kDone };

  // Every step runs here. An exception from a step or from the handler's callbacks (a bug) fails
  // this call alone, as it does a proxied call (see UpstreamResponseHandler): the handler gets a
  // kHandler error once; what no callback is left to receive is written to stderr.
  static void onTimer(evutil_socket_t, short, void* arg) {
    auto* call = static_cast<KlingCall*>(arg);
    std::shared_ptr<bool> alive = call->alive_;
    std::string upstream = call->setup_.upstream_name;  // for stderr, should the call be gone
    try {
      call->advance();
    } catch (...) {
      std::string what = http::exceptionText(std::current_exception());
      if (*alive && !call->error_sent_) {
        call->failAfterBug(std::move(what), upstream);
        return;
      }
      http::reportHandlerFailure(upstream,
                                 *alive ? "at the end of its call" : "after its call ended", what);
    }
  }

  void failAfterBug(std::string what, const std::string& upstream) {
    try {
      failFinal(Kind::kHandler, std::move(what));
    } catch (...) {
      http::reportHandlerFailure(upstream, "at the end of its call",
                                 http::exceptionText(std::current_exception()));
    }
  }
  void wake() { event_active(timer_, EV_TIMEOUT, 1); }

  void advance() {
    switch (step_) {
      case Step::kTranslate:
        return translate();
      case Step::kSubmit:
        if (exchange_ && exchange_->finished()) afterSubmit();
        return;
      case Step::kWait:
        return poll();
      case Step::kPoll:
        if (exchange_ && exchange_->finished()) afterPoll();
        return;
      case Step::kDownload:
        return afterDownload();
      case Step::kDone:
        return;
    }
  }

  bool isEdit() const { return request_.path.ends_with("/images/edits"); }

  void translate() {
    std::string_view body = request_.bodyView();
    auto translated = isEdit()
                          ? translateEdit(body, request_.headers.find("content-type").value_or(""))
                          : translateRequest(body);
    if (auto* error = std::get_if<ApiError>(&translated)) return replyError(*error);
    submission_ = std::move(std::get<Submission>(translated));
    step_ = Step::kSubmit;
    http::OutgoingRequest out;
    out.method = "POST";
    out.path = setup_.base_path + std::string(kTasksPath);
    out.headers = request_.headers;  // the client's forwardable headers and x-request-id
    out.headers.remove("content-type");
    out.headers.set("Content-Type", "application/json");
    authorize(&out.headers);
    out.body = std::move(submission_.body);
    exchange_ = send(*setup_.api, std::move(out), kAnswerLimit);
  }

  void afterSubmit() {
    auto exchange = std::move(exchange_);
    reused_ = exchange->call && exchange->call->reusedConnection();
    if (exchange->error()) return fail(*exchange->error());  // not yet a task: may be retried
    auto answer = readTaskAnswer(exchange->status(), exchange->body(), setup_.upstream_name);
    if (auto* error = std::get_if<ApiError>(&answer)) {
      if (exchange->status() / 100 == 2 && error->code == "bad_upstream_response") {
        // Kling took the request but its answer cannot be read: a task may exist, billed. A
        // second submit would pay for another, so this fails without a retry, at the estimate.
        return fail(http::UpstreamError{Kind::kProtocol,
                                        error->message + " (not submitted again: a task may exist)",
                                        true, true});
      }
      http::Headers headers = jsonType();
      if (!exchange->retryAfter().empty()) headers.set("retry-after", exchange->retryAfter());
      if (error->no_retry) headers.set("x-should-retry", "false");  // the gateway obeys it too
      return reply(error->status, std::move(headers), error->toJson());
    }
    task_ = std::move(std::get<TaskState>(answer));
    waitThenPoll();
  }

  void waitThenPoll() {
    if (Clock::now() + setup_.poll_interval >= deadline_) {
      return failFinal(Kind::kTimeout, "Kling task " + task_.task_id +
                                           " was not done within the upstream's timeout");
    }
    step_ = Step::kWait;
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(setup_.poll_interval);
    timeval wait{static_cast<time_t>(micros.count() / 1'000'000),
                 static_cast<suseconds_t>(micros.count() % 1'000'000)};
    evtimer_add(timer_, &wait);
  }

  void poll() {
    step_ = Step::kPoll;
    http::OutgoingRequest out;
    out.method = "GET";
    out.path = setup_.base_path + std::string(kTasksPath) + "/" + task_.task_id;
    if (auto id = request_.headers.find("x-request-id")) out.headers.set("x-request-id", *id);
    authorize(&out.headers);
    exchange_ = send(*setup_.api, std::move(out), kAnswerLimit);
  }

  void afterPoll() {
    auto exchange = std::move(exchange_);
    int status = exchange->status();
    if (exchange->error() || status >= 500 || status == 429) {
      if (status != 429 && ++poll_failures_ >= kMaxPollFailures) {
        return failFinal(exchange->error() ? exchange->error()->kind : Kind::kProtocol,
                         "polling Kling task " + task_.task_id + " failed " +
                             std::to_string(poll_failures_) + " times in a row (last: " +
                             (exchange->error() ? exchange->error()->message
                                                : "HTTP " + std::to_string(status)) +
                             ")");
      }
      return waitThenPoll();  // the task goes on at Kling: ask again
    }
    poll_failures_ = 0;
    auto answer = readTaskAnswer(status, exchange->body(), setup_.upstream_name);
    if (auto* error = std::get_if<ApiError>(&answer)) {
      return failFinal(Kind::kProtocol,
                       "polling Kling task " + task_.task_id + ": " + error->message);
    }
    auto& task = std::get<TaskState>(answer);
    if (task.status == TaskState::Status::kPending) return waitThenPoll();
    if (task.status == TaskState::Status::kFailed) {
      return replyError(ApiError::invalidRequest(
          "Kling could not make the images (task " + task_.task_id +
              "): " + (task.message.empty() ? std::string("no reason given") : task.message),
          std::nullopt, std::string("generation_failed")));
    }
    if (task.created == 0) task.created = task_.created;
    task_ = std::move(task);
    if (submission_.wants_urls) {
      return reply(200, jsonType(), imagesResponse(createdTime(), task_.image_urls, true));
    }
    startDownloads();
  }

  void startDownloads() {
    step_ = Step::kDownload;
    for (size_t i = 0; i < task_.image_urls.size(); ++i) {
      auto where = locate(task_.image_urls[i]);
      if (!where || (setup_.require_https_images && !where->tls)) {
        return failFinal(Kind::kProtocol, "Kling gave image " + std::to_string(i + 1) +
                                              " a URL the gateway does not fetch (" +
                                              (where ? "not https" : "not an http(s) URL") + ")");
      }
      image_locations_.push_back(std::move(*where));
    }
    for (size_t i = 0; i < image_locations_.size(); ++i) {
      downloads_.push_back(download(image_locations_[i]));
      download_attempts_.push_back(1);
    }
  }

  std::unique_ptr<Collector> download(const ImageLocation& where) {
    http::OutgoingRequest out;
    out.method = "GET";
    out.path = where.target;
    out.headers.set("Accept", "image/*");  // no key: the image host is not Kling's API
    return send(imagePool(where), std::move(out), kImageLimit);
  }

  // A refused or cut connection, a timeout, a 429 or a 5xx: the image host may answer next time.
  static bool transient(const Collector& download) {
    if (const auto& error = download.error()) {
      return error->kind == Kind::kConnect || error->kind == Kind::kReset ||
             error->kind == Kind::kTimeout;
    }
    return download.status() == 429 || download.status() >= 500;
  }

  // Runs when a download ends: a transient failure is fetched again (the images are paid for),
  // up to kDownloadAttempts times; once all are in, the answer goes out.
  void afterDownload() {
    bool waiting = false;
    for (size_t i = 0; i < downloads_.size(); ++i) {
      if (!downloads_[i]->finished()) {
        waiting = true;
      } else if (transient(*downloads_[i]) && download_attempts_[i] < kDownloadAttempts) {
        ++download_attempts_[i];
        downloads_[i] = download(image_locations_[i]);
        waiting = true;
      }
    }
    if (waiting) return;
    std::vector<std::string> images;
    for (size_t i = 0; i < downloads_.size(); ++i) {
      Collector& download = *downloads_[i];
      std::string what = "downloading image " + std::to_string(i + 1) + " of " +
                         std::to_string(downloads_.size()) + " of Kling task " + task_.task_id +
                         " (attempts: " + std::to_string(download_attempts_[i]) + ")";
      if (download.error()) {
        return failFinal(download.error()->kind, what + ": " + download.error()->message);
      }
      if (download.status() != 200 || download.tooLarge() || download.body().empty()) {
        return failFinal(Kind::kProtocol,
                         what + ": " +
                             (download.tooLarge() ? "larger than 64 MiB"
                                                  : "HTTP " + std::to_string(download.status())));
      }
      images.push_back(encodeBase64(download.body()));
      std::string().swap(download.body());
    }
    std::string answer = imagesResponse(createdTime(), images, false);
    if (!submission_.stream) return reply(200, jsonType(), std::move(answer));
    http::Headers headers;  // no partial images: Kling has none to give
    headers.set("Content-Type", "text/event-stream");
    headers.set("Cache-Control", "no-cache");
    auto events = isEdit() ? ImageEvents::kEdit : ImageEvents::kGeneration;
    reply(200, std::move(headers), toSseReplay(answer, events).value_or(""));
  }

  static http::Headers jsonType() {
    http::Headers headers;
    headers.set("Content-Type", "application/json");
    return headers;
  }

  // Pools for image hosts live as long as the call: one connection per image at most.
  http::UpstreamPool& imagePool(const ImageLocation& where) {
    std::string key =
        (where.tls ? "https://" : "http://") + where.host + ":" + std::to_string(where.port);
    auto& pool = image_pools_[key];
    if (!pool) {
      http::PoolOptions options;
      options.max_connections = static_cast<int>(task_.image_urls.size());
      options.connect_timeout = setup_.connect_timeout;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      options.first_byte_timeout = options.total_timeout =
          std::max(left, std::chrono::milliseconds(1));
      http::UpstreamEndpoint endpoint{setup_.upstream_name + " images", where.tls, where.host,
                                      where.port, setup_.download_tls};
      pool = std::make_unique<http::UpstreamPool>(setup_.base, setup_.dns, std::move(endpoint),
                                                  options);
    }
    return *pool;
  }

  std::unique_ptr<Collector> send(http::UpstreamPool& pool, http::OutgoingRequest out,
                                  size_t limit) {
    auto collector = std::make_unique<Collector>(limit, [this] { wake(); });
    collector->call = pool.start(std::move(out), collector.get());
    return collector;
  }

  void authorize(http::Headers* headers) const {
    if (!setup_.credentials.empty()) {
      headers->set("Authorization", "Bearer " + makeJwt(setup_.credentials, std::time(nullptr)));
    } else if (auto given = request_.headers.find("authorization")) {
      headers->set("Authorization", *given);  // auth.mode = "passthrough"
    }
  }

  int64_t createdTime() const {
    return task_.created > 0 ? task_.created : static_cast<int64_t>(std::time(nullptr));
  }

  void replyError(const ApiError& error) { reply(error.status, jsonType(), error.toJson()); }

  // Hands over a whole answer. The handler may destroy this call from any of its callbacks.
  void reply(int status, http::Headers headers, std::string body) {
    stop();
    headers.set("Content-Length", std::to_string(body.size()));
    std::shared_ptr<bool> alive = alive_;
    http::UpstreamResponseHandler* handler = handler_;
    handler->onUpstreamHead(status, headers);
    if (!*alive) return;
    // Freed (with the body it references) also when the handler throws.
    std::unique_ptr<evbuffer, void (*)(evbuffer*)> buffer(evbuffer_new(), &evbuffer_free);
    auto* owned = new std::string(std::move(body));
    evbuffer_add_reference(
        buffer.get(), owned->data(), owned->size(),
        [](const void*, size_t, void* text) { delete static_cast<std::string*>(text); }, owned);
    handler->onUpstreamBody(buffer.get());
    buffer.reset();
    if (*alive) handler->onUpstreamComplete();
  }

  void fail(const http::UpstreamError& error) {
    stop();
    error_sent_ = true;
    handler_->onUpstreamError(error);
  }

  // After the task exists a failure is never retried: the handler gets it as if the answer had
  // begun, which makes it final. Kling bills the task all the same.
  void failFinal(Kind kind, std::string message) {
    fail(http::UpstreamError{kind, std::move(message), true, !task_.task_id.empty()});
  }

  void stop() {
    step_ = Step::kDone;
    evtimer_del(timer_);
    exchange_.reset();
    downloads_.clear();
  }

  CallSetup setup_;
  http::OutgoingRequest request_;
  http::UpstreamResponseHandler* handler_;
  Clock::time_point deadline_;
  event* timer_ = nullptr;
  Step step_ = Step::kTranslate;
  Submission submission_;
  TaskState task_;
  int poll_failures_ = 0;
  bool reused_ = false;
  bool error_sent_ = false;  // onUpstreamError was called: nothing more goes to the handler
  std::map<std::string, std::unique_ptr<http::UpstreamPool>> image_pools_;
  std::unique_ptr<Collector> exchange_;  // the submit or poll in flight
  std::vector<ImageLocation> image_locations_;
  std::vector<std::unique_ptr<Collector>> downloads_;
  std::vector<int> download_attempts_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<http::UpstreamCall> startCall(CallSetup setup, http::OutgoingRequest request,
                                              http::UpstreamResponseHandler* handler) {
  return std::make_unique<KlingCall>(std::move(setup), std::move(request), handler);
}

}  // namespace arkroute::kling
