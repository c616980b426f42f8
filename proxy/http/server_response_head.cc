// writeResponseHead: one reservation in the evbuffer and one copy per piece. Building the head in
// a string first cost an out-of-line append per piece (four per field) and a second copy of it all.
#include "proxy/http/server_response_head.h"

#include <charconv>
#include <ctime>

#include "proxy/http/piece_writer.h"

namespace arkroute::http {

std::string_view httpDateNow() {
  thread_local time_t formatted_at = -1;
  thread_local char text[40];
  thread_local size_t length = 0;
  time_t now = time(nullptr);
  if (now != formatted_at) {
    tm parts{};
    gmtime_r(&now, &parts);
    length = strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
    formatted_at = now;
  }
  return {text, length};
}

bool isFramingField(std::string_view name) {
  return equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "connection") ||
         equalsIgnoreCase(name, "transfer-encoding");
}

void writeResponseHead(evbuffer* out, int status, const Headers& headers,
                       std::string_view framing) {
  char digits[16];
  auto converted = std::to_chars(digits, digits + sizeof digits, status);
  std::string_view code(digits, static_cast<size_t>(converted.ptr - digits));
  std::string_view reason = reasonPhrase(status);
  size_t size = 9 + code.size() + 1 + reason.size() + 2 + framing.size() + 2;
  for (const auto& [name, value] : headers) {
    if (!isFramingField(name)) size += name.size() + 2 + value.size() + 2;
  }
  evbuffer_iovec space;
  // Out of memory: nothing is written, as evbuffer_add would have written nothing.
  if (evbuffer_reserve_space(out, static_cast<ev_ssize_t>(size), &space, 1) != 1) return;
  char* start = static_cast<char*>(space.iov_base);
  PieceWriter head(start);
  head.put("HTTP/1.1 ").put(code).put(" ").put(reason).put("\r\n");
  for (const auto& [name, value] : headers) {
    if (!isFramingField(name)) head.put(name).put(": ").put(value).put("\r\n");
  }
  head.put(framing).put("\r\n");
  space.iov_len = static_cast<size_t>(head.at() - start);
  evbuffer_commit_space(out, &space, 1);
}

}  // namespace arkroute::http
