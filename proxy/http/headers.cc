// Header list operations and the reason-phrase table.
#include "proxy/http/headers.h"

#include <algorithm>

namespace arkroute::http {

void Headers::add(std::string name, std::string value) {
  // Room for a typical message's fields at once instead of growing 1, 2, 4, 8, 16.
  if (fields_.capacity() == 0) fields_.reserve(16);
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return equalsIgnoreCase(f.first, name); });
}

const std::string* Headers::find(std::string_view name) const {
  for (const auto& f : fields_) {
    if (equalsIgnoreCase(f.first, name)) return &f.second;
  }
  return nullptr;
}

std::string_view Headers::get(std::string_view name, std::string_view fallback) const {
  const std::string* v = find(name);
  return v ? std::string_view(*v) : fallback;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace arkroute::http
