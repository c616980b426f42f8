// Routing, stats and connection accounting of arkroute-sim.
#include "tests/sim/sim_server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <xxhash.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/sim/png.h"
#include "tests/sim/sim_kling.h"
#include "tests/sim/sim_pending.h"
#include "tests/sim/sim_seedream.h"

namespace arkroute::sim {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

void sendBody(evhttp_request* req, int status, const char* content_type, const std::string& body) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(req, status, nullptr, out);
  evbuffer_free(out);
}

std::string requestBody(evhttp_request* req) {
  evbuffer* in = evhttp_request_get_input_buffer(req);
  std::string body(evbuffer_get_length(in), '\0');
  evbuffer_copyout(in, body.data(), body.size());
  return body;
}

void sendJsonError(evhttp_request* req, int status, const std::string& type,
                   const std::string& code, const std::string& message) {
  nlohmann::json error = {
      {"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
  sendBody(req, status, "application/json", error.dump());
}

SimServer::SimServer(event_base* base, SimOptions options)
    : base_(base),
      options_(std::move(options)),
      images_(options_.payload_bytes),
      kling_(std::make_unique<KlingApi>(*this, options_.kling)) {}

SimServer::~SimServer() {
  if (http_) evhttp_free(http_);
  if (ssl_ctx_) SSL_CTX_free(ssl_ctx_);
}

bool SimServer::start(std::string* error) {
  if (!options_.tls_cert.empty()) {
    ssl_ctx_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx_, options_.tls_cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx_, options_.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      *error = "cannot load --tls-cert/--tls-key";
      return false;
    }
  }
  http_ = evhttp_new(base_);
  evhttp_set_bevcb(http_, &SimServer::onNewConnection, this);
  evhttp_set_gencb(http_, &SimServer::onRequest, this);
  evhttp_set_max_body_size(http_, 64 << 20);
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
  evhttp_bound_socket* socket =
      evhttp_bind_socket_with_handle(http_, options_.host.c_str(), options_.port);
  if (!socket) {
    *error = "cannot listen on " + options_.host + ":" + std::to_string(options_.port);
    return false;
  }
  // Accepted sockets inherit TCP_NODELAY from the listener on Linux: no delayed-ACK stalls.
  int one = 1;
  setsockopt(evhttp_bound_socket_get_fd(socket), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_storage address;
  socklen_t length = sizeof address;
  getsockname(evhttp_bound_socket_get_fd(socket), reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  return true;
}

std::string SimServer::hostPort() const {
  bool ipv6 = options_.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(port_);
}

std::string SimServer::url() const {
  return std::string(ssl_ctx_ ? "https://" : "http://") + hostPort();
}

bufferevent* SimServer::onNewConnection(event_base* base, void* arg) {
  auto* self = static_cast<SimServer*>(arg);
  ++self->connections_;
  bufferevent* bev = self->ssl_ctx_ ? bufferevent_openssl_socket_new(
                                          base, -1, SSL_new(self->ssl_ctx_),
                                          BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
                                    : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  // libevent writes 16 KiB per loop iteration by default: ~90 iterations per 1.5 MB image.
  bufferevent_set_max_single_write(bev, 1 << 20);
  return bev;
}

void SimServer::onRequest(evhttp_request* req, void* arg) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = evhttp_uri_get_path(uri);
  static_cast<SimServer*>(arg)->route(req, path ? path : "/");
}

void SimServer::route(evhttp_request* req, const std::string& path) {
  evhttp_cmd_type method = evhttp_request_get_command(req);
  if (path == "/_sim/stats" && method == EVHTTP_REQ_GET) return sendStats(req);
  if (path == "/_sim/reset" && method == EVHTTP_REQ_POST) {
    requests_.clear();
    faults_injected_.clear();
    max_in_flight_ = 0;
    connections_ = 0;
    return sendBody(req, 200, "application/json", "{}");
  }
  if (path == "/_sim/last-request")
    return sendBody(req, 200, "application/json", lastRequestJson());
  if (path.starts_with("/kling/")) {
    ++requests_[KlingApi::statsKey(path)];
    return kling_->handle(req, path);
  }
  ++requests_[path];  // no copy of the path: this is the benchmarks' hot path
  if (path.starts_with("/_sim/images/")) {
    ++requests_["/_sim/images"];  // all image downloads under one key too
    return handleImage(req, path);
  }
  if ((path.ends_with("/images/generations") || path.ends_with("/images/edits")) &&
      method == EVHTTP_REQ_POST) {
    return handleGeneration(req, path);
  }
  if (path.ends_with("/models") && method == EVHTTP_REQ_GET) {
    return sendBody(req, 200, "application/json",
                    R"({"object":"list","data":[{"id":"gpt-image-1","object":"model"},)"
                    R"({"id":"seedream-4-5-251128","object":"model"}]})");
  }
  sendJsonError(req, 404, "invalid_request_error", "unknown_url", "Unknown path " + path);
}

void SimServer::sendStats(evhttp_request* req) {
  nlohmann::json requests = nlohmann::json::object();
  for (const auto& [path, count] : requests_) requests[path] = count;
  nlohmann::json stats = {{"requests", requests},
                          {"connections_accepted", connections_},
                          {"in_flight", in_flight_},
                          {"max_in_flight", max_in_flight_}};
  sendBody(req, 200, "application/json", stats.dump());
}

void SimServer::rememberRequest(evhttp_request* req, const std::string& path,
                                const std::string& body) {
  RecordedRequest& last = last_request_;
  last.present = true;
  last.path.assign(path);
  last.body.assign(body);
  last.header_count = 0;
  for (evkeyval* h = evhttp_request_get_input_headers(req)->tqh_first; h; h = h->next.tqe_next) {
    if (last.header_count == last.headers.size()) last.headers.emplace_back();
    auto& [key, value] = last.headers[last.header_count++];
    key.assign(h->key);
    value.assign(h->value);
  }
}

std::string SimServer::lastRequestJson() const {
  const RecordedRequest& last = last_request_;
  if (!last.present) return "{}";
  nlohmann::json headers = nlohmann::json::object();
  for (size_t i = 0; i < last.header_count; ++i) {
    headers[lower(last.headers[i].first)] = last.headers[i].second;
  }
  return nlohmann::json{
      {"path", last.path}, {"method", "POST"}, {"headers", headers}, {"body", last.body}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int SimServer::latencyFor(evhttp_request* req) {
  const char* given = evhttp_find_header(evhttp_request_get_input_headers(req), "x-sim-latency-ms");
  if (given) return std::max(0, std::atoi(given));
  int jitter = options_.jitter_ms > 0
                   ? std::uniform_int_distribution<int>(0, options_.jitter_ms)(jitter_rng_)
                   : 0;
  return options_.latency_ms + jitter;
}

std::string SimServer::imageUrl(evhttp_request* req, const std::string& key) {
  const char* host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
  std::string base =
      std::string(ssl_ctx_ ? "https://" : "http://") + (host ? std::string(host) : hostPort());
  char id[33];
  std::snprintf(id, sizeof id, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(key.data(), key.size())));
  if (image_keys_.size() > 4096) image_keys_.clear();
  image_keys_[id] = key;
  return base + "/_sim/images/" + id + ".png";
}

std::vector<std::string> SimServer::imageUrls(evhttp_request* req, const ImageParams& params) {
  std::vector<std::string> urls;
  if (params.response_format != "url") return urls;
  for (int i = 0; i < params.n; ++i)
    urls.push_back(imageUrl(req, ImageFactory::imageKey(params, i)));
  return urls;
}

void SimServer::handleImage(evhttp_request* req, const std::string& path) {
  std::string id = path.substr(std::string("/_sim/images/").size());
  if (id.ends_with(".png")) id.resize(id.size() - 4);
  if (id.starts_with("flaky-")) {  // kling-images-flaky: each such URL fails once
    id.erase(0, 6);
    if (flaky_failed_.size() > 4096) flaky_failed_.clear();
    if (flaky_failed_.insert(id).second) {
      return sendJsonError(req, 503, "server_error", "unavailable", "Image " + id + " not yet");
    }
  }
  auto it = image_keys_.find(id);
  if (it == image_keys_.end()) {
    return sendJsonError(req, 404, "invalid_request_error", "not_found", "Unknown image " + id);
  }
  sendBody(req, 200, "image/png", images_.pngForKey(it->second));
}

void SimServer::handleGeneration(evhttp_request* req, const std::string& path) {
  std::string body = requestBody(req);
  rememberRequest(req, path, body);
  ImageParams params;
  const char* type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
  auto error = path.ends_with("/images/edits") ? parseEditRequest(body, type ? type : "", &params)
                                               : parseImageRequest(body, &params);
  if (!error && path.starts_with("/seedream/")) {
    params.seedream = true;
    error = applySeedreamFields(body, &params);
  }
  if (error) return sendBody(req, 400, "application/json", *error);
  const char* fault = activeFault(req);
  if (fault && std::string_view(fault) == "seedream-partial-failed") {
    params.seedream_fail_last = true;  // a stream with a failed image, not an error reply
    fault = nullptr;
  } else if (fault &&
             (std::string_view(fault) == "one-image" || std::string_view(fault) == "no-images")) {
    params.n = std::string_view(fault) == "one-image" ? 1 : 0;  // a 200 with fewer than asked
    fault = nullptr;
  } else if (fault && std::string_view(fault) == "ignore-stream") {
    params.stream = false;  // a provider that answers a stream request with one JSON body
    fault = nullptr;
  }
  newPending(req, params, fault ? fault : "", imageUrls(req, params))->begin(latencyFor(req));
}

const char* SimServer::activeFault(evhttp_request* req) {
  evkeyvalq* headers = evhttp_request_get_input_headers(req);
  const char* fault = evhttp_find_header(headers, "x-sim-fault");
  const char* times = evhttp_find_header(headers, "x-sim-fault-times");
  if (fault && times) {
    const char* id = evhttp_find_header(headers, "x-sim-fault-id");
    std::string key = std::string(fault) + "/" + times + "/" + (id ? id : "");
    if (faults_injected_[key]++ >= std::atoi(times)) fault = nullptr;
  }
  return fault;
}

PendingRequest* SimServer::newPending(evhttp_request* req, ImageParams params, std::string fault,
                                      std::vector<std::string> urls) {
  ++in_flight_;
  max_in_flight_ = std::max<int>(max_in_flight_, static_cast<int>(in_flight_));
  return new PendingRequest(*this, req, std::move(params), std::move(fault), std::move(urls));
}

void SimServer::finished(PendingRequest* pending) {
  --in_flight_;
  delete pending;
}

}  // namespace arkroute::sim
