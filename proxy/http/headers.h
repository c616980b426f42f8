// HTTP header fields: an ordered list of (name, value) pairs with case-insensitive lookup. Used by
// both the server side (requests from clients) and the upstream side (responses from providers).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arkroute::http {

// ASCII case-insensitive equality, as HTTP field names compare. Inline: header filters call it
// dozens of times per request, and most calls end at the length check.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  void add(std::string name, std::string value);
  // Replaces every field of that name (case-insensitive) with one.
  void set(std::string name, std::string value);
  void remove(std::string_view name);
  // Removes every field and keeps the list's storage for the next message.
  void clear() { fields_.clear(); }
  // Appends to the value of the most recently added field (parsers deliver values in pieces).
  void appendToLastValue(std::string_view more) { fields_.back().second.append(more); }
  // First value of that name, or nullptr. The pointer lives until the next mutation.
  const std::string* find(std::string_view name) const;
  std::string_view get(std::string_view name, std::string_view fallback = {}) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

// A complete request from a client: head and whole body (bodies are bounded by max_body_bytes).
struct Request {
  std::string method;     // "GET", "POST", ...
  std::string target;     // as sent: "/v1/models?x=1"
  std::string path;       // "/v1/models" (percent-decoding NOT applied)
  std::string query;      // "x=1" (without '?'), "" when absent
  int version_minor = 1;  // HTTP/1.<minor>
  Headers headers;
  std::string body;
};

// "OK", "Not Found", ... ("Unknown" for codes it does not know).
std::string_view reasonPhrase(int status);

}  // namespace arkroute::http
