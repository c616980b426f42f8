// Header list operations and the reason-phrase table.
#include "proxy/http/headers.h"

#include <algorithm>
#include <functional>

namespace arkroute::http {

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() ||
      !equalsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!token.empty() && blank(token.front())) token.remove_prefix(1);
  while (!token.empty() && blank(token.back())) token.remove_suffix(1);
  return token;
}

bool Headers::inText(std::string_view piece) const {
  std::less<const char*> before;
  return !piece.empty() && !before(piece.data(), text_.data()) &&
         before(piece.data(), text_.data() + used_);
}

void Headers::growText(size_t more) {
  // 512 bytes hold a typical message at once, instead of growing 1, 2, 4, 8...
  text_.resize(std::max({size_t{512}, text_.size() * 2, used_ + more}));
}

void Headers::add(std::string_view name, std::string_view value) {
  if (inText(name) || inText(value)) {  // growing the text would move what the views point at
    add(std::string(name), std::string(value));
    return;
  }
  if (entries_.capacity() == 0) entries_.reserve(16);  // a typical message at once
  char* at = reserveText(name.size() + value.size());
  if (!name.empty()) std::memcpy(at, name.data(), name.size());
  if (!value.empty()) std::memcpy(at + name.size(), value.data(), value.size());
  entries_.push_back(Entry{used_, static_cast<uint32_t>(name.size()),
                           static_cast<uint32_t>(used_ + name.size()),
                           static_cast<uint32_t>(value.size())});
  used_ += static_cast<uint32_t>(name.size() + value.size());
}

void Headers::appendToLastValue(std::string_view more) {
  if (inText(more)) {
    appendToLastValue(std::string(more));
    return;
  }
  Entry& last = entries_.back();
  // Only the newest field's value can grow in place; anything added after it moves it to the end.
  if (last.value_at + last.value_length != used_) {
    std::string value(fieldAt(entries_.size() - 1).second);
    char* at = reserveText(value.size());  // may move the text: value is a copy
    if (!value.empty()) std::memcpy(at, value.data(), value.size());
    last.value_at = used_;
    used_ += static_cast<uint32_t>(value.size());
  }
  char* at = reserveText(more.size());
  if (!more.empty()) std::memcpy(at, more.data(), more.size());
  used_ += static_cast<uint32_t>(more.size());
  last.value_length += static_cast<uint32_t>(more.size());
}

void Headers::set(std::string_view name, std::string_view value) {
  remove(name);  // leaves the text as it is, so views into it stay valid for add
  add(name, value);
}

void Headers::remove(std::string_view name) {
  // The removed fields' bytes stay in the text until clear(): removals are rare and few.
  std::erase_if(entries_, [&](const Entry& e) {
    return equalsIgnoreCase(piece(e.name_at, e.name_length), name);
  });
}

std::optional<std::string_view> Headers::find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (equalsIgnoreCase(piece(e.name_at, e.name_length), name)) {
      return piece(e.value_at, e.value_length);
    }
  }
  return std::nullopt;
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
