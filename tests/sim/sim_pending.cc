// Timed answers and faults for simulator requests.
#include "tests/sim/sim_pending.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sys/socket.h>

#include "tests/sim/sim_server.h"

namespace arkroute::sim {

namespace {

int headerInt(evhttp_request* req, const char* name, int fallback) {
  const char* value = evhttp_find_header(evhttp_request_get_input_headers(req), name);
  return value ? std::atoi(value) : fallback;
}

}  // namespace

PendingRequest::PendingRequest(SimServer& s, evhttp_request* r, ImageParams p, std::string f,
                               std::vector<std::string> u)
    : server(s),
      req(r),
      connection(evhttp_request_get_connection(r)),
      params(std::move(p)),
      fault(std::move(f)),
      urls(std::move(u)) {
  step_timer = evtimer_new(server.base(), &PendingRequest::onStep, this);
  watch_timer = event_new(server.base(), -1, EV_PERSIST, &PendingRequest::onWatch, this);
  timeval every{0, 50'000};
  event_add(watch_timer, &every);
  evhttp_connection_set_closecb(connection, &PendingRequest::onClosed, this);
}

PendingRequest::~PendingRequest() {
  event_free(step_timer);
  event_free(watch_timer);
}

void PendingRequest::schedule(int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  evtimer_add(step_timer, &tv);
}

void PendingRequest::begin(int latency_ms) {
  if (fault == "stall") return;  // never answers; the watch frees it when the client leaves
  if (fault == "reset-before-headers") {
    resetConnection();
    return;
  }
  if (params.stream && fault.empty()) {
    startStream(latency_ms);
    return;
  }
  schedule(latency_ms);
}

void PendingRequest::onStep(evutil_socket_t, short, void* arg) {
  static_cast<PendingRequest*>(arg)->step();
}

void PendingRequest::step() {
  if (!events.empty()) {  // streaming: one event per step
    evbuffer* chunk = evbuffer_new();
    evbuffer_add(chunk, events.front().data(), events.front().size());
    events.erase(events.begin());
    evhttp_send_reply_chunk(req, chunk);
    evbuffer_free(chunk);
    if (events.empty()) {
      evhttp_send_reply_end(req);
      done();
      return;
    }
    schedule(interval_ms);
    return;
  }
  if (fault == "slow-drip" && !body.empty()) {
    size_t n = std::min(drip_bytes, body.size() - sent);
    evbuffer* chunk = evbuffer_new();
    evbuffer_add(chunk, body.data() + sent, n);
    sent += n;
    evhttp_send_reply_chunk(req, chunk);
    evbuffer_free(chunk);
    if (sent == body.size()) {
      evhttp_send_reply_end(req);
      done();
      return;
    }
    schedule(interval_ms);
    return;
  }
  if (fault == "reset-mid-body" && sent > 0) {
    resetConnection();
    return;
  }
  respondNow();
}

void PendingRequest::respondNow() {
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  if (reply_status != 0) {
    sendBody(req, reply_status, "application/json", reply_body);
  } else if (fault == "429") {
    evhttp_add_header(headers, "retry-after", "1");
    evhttp_add_header(headers, "retry-after-ms", "1000");
    evhttp_add_header(headers, "x-ratelimit-limit-requests", "60");
    evhttp_add_header(headers, "x-ratelimit-remaining-requests", "0");
    evhttp_add_header(headers, "x-ratelimit-reset-requests", "1s");
    sendJsonError(req, 429, "requests", "rate_limit_exceeded",
                  "Rate limit reached for images per minute. Please try again in 1s.");
  } else if (fault == "500" || fault == "503") {
    sendJsonError(req, std::stoi(fault), "server_error", "server_error",
                  "The simulated provider had an error while processing your request.");
  } else if (fault == "moderation") {
    sendJsonError(req, 400, "image_generation_user_error", "moderation_blocked",
                  "Your request was rejected by the safety system.");
  } else if (fault == "slow-drip") {
    startDrip();
    return;
  } else if (fault == "reset-mid-body") {
    startMidBodyReset();
    return;
  } else {
    std::string json = server.images().jsonResponse(params, urls);
    evhttp_add_header(headers, "Content-Type", "application/json");
    evbuffer* out = evbuffer_new();
    evbuffer_add(out, json.data(), json.size());
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
  }
  done();
}

void PendingRequest::startStream(int latency_ms) {
  events = server.images().streamEvents(params, urls);
  if (events.empty()) {  // no image to make (x-sim-fault: no-images): the stream's error event
    events.push_back(
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"No image was made.\","
        "\"type\":\"image_generation_server_error\",\"code\":\"no_image\"}}\n\n");
  }
  interval_ms = latency_ms / static_cast<int>(events.size());
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", "text/event-stream");
  evhttp_add_header(headers, "Cache-Control", "no-cache");
  evhttp_send_reply_start(req, 200, "OK");
  schedule(interval_ms);
}

void PendingRequest::startDrip() {
  body = server.images().jsonResponse(params, urls);
  drip_bytes = static_cast<size_t>(headerInt(req, "x-sim-drip-bytes", 1024));
  interval_ms = headerInt(req, "x-sim-drip-ms", 20);
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", "application/json");
  evhttp_add_header(headers, "Content-Length", std::to_string(body.size()).c_str());
  evhttp_send_reply_start(req, 200, "OK");
  schedule(0);
}

void PendingRequest::startMidBodyReset() {
  body = server.images().jsonResponse(params, urls);
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", "application/json");
  evhttp_add_header(headers, "Content-Length", std::to_string(body.size()).c_str());
  evhttp_send_reply_start(req, 200, "OK");
  evbuffer* half = evbuffer_new();
  sent = body.size() / 2;
  evbuffer_add(half, body.data(), sent);
  evhttp_send_reply_chunk(req, half);
  evbuffer_free(half);
  schedule(30);
}

void PendingRequest::resetConnection() {
  bufferevent* bev = evhttp_connection_get_bufferevent(connection);
  linger hard{1, 0};
  setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  abandon();
}

void PendingRequest::onWatch(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<PendingRequest*>(arg);
  bufferevent* bev = evhttp_connection_get_bufferevent(self->connection);
  char byte;
  ssize_t n = recv(bufferevent_getfd(bev), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) self->abandon();
}

void PendingRequest::onClosed(evhttp_connection*, void* arg) {
  auto* self = static_cast<PendingRequest*>(arg);
  self->connection = nullptr;  // evhttp is freeing it
  self->server.finished(self);
}

void PendingRequest::abandon() {
  evhttp_connection* connection_to_free = connection;
  evhttp_connection_set_closecb(connection_to_free, nullptr, nullptr);
  server.finished(this);  // deletes this
  evhttp_connection_free(connection_to_free);
}

void PendingRequest::done() {
  evhttp_connection_set_closecb(connection, nullptr, nullptr);
  server.finished(this);
}

}  // namespace arkroute::sim
