// Collects a pipeline response in memory and reports it once.
#include "proxy/internal_exchange.h"

#include <event2/buffer.h>

namespace arkroute {

InternalExchange::InternalExchange(event_base* base, http::Request request, Done done)
    : base_(base), request_(std::move(request)), done_(std::move(done)) {}

void InternalExchange::respond(int status, const http::Headers& headers, std::string_view body) {
  startResponse(status, headers, body.size());
  writeBody(body);
  endResponse();
}

void InternalExchange::startResponse(int status, const http::Headers& headers,
                                     std::optional<uint64_t>) {
  if (started_) return;
  started_ = true;
  response_.status = status;
  response_.headers = headers;
}

void InternalExchange::writeBody(std::string_view data) {
  if (!finished_) response_.body.append(data);
}

void InternalExchange::writeBody(evbuffer* data) {
  size_t length = evbuffer_get_length(data);
  std::string chunk(length, '\0');
  evbuffer_remove(data, chunk.data(), length);
  writeBody(std::string_view(chunk));
}

void InternalExchange::endResponse() {
  complete();
}

void InternalExchange::abort() {
  response_.status = 0;
  complete();
}

void InternalExchange::onDrained(std::function<void()> callback) {
  if (callback) callback();
}

void InternalExchange::complete() {
  if (finished_) return;
  finished_ = true;
  if (done_) {
    Done done = std::move(done_);
    done(std::move(response_));
  }
}

}  // namespace arkroute
