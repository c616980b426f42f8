// Splices a new value into a JSON object at the byte range simdjson reports for the old one.
#include "proxy/body_rewrite.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

namespace arkroute {

namespace {

bool isJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct Span {
  size_t offset = 0;
  size_t length = 0;
};

// Finds the raw bytes of the first top-level value named key. nullopt: not an object / invalid.
std::optional<std::optional<Span>> findTopLevelValue(const simdjson::padded_string& padded,
                                                     std::string_view key) {
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  for (auto field : object) {
    std::string_view name;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS) return std::nullopt;
    if (name != key) continue;
    std::string_view raw;
    if (field.value().raw_json_token().get(raw) != simdjson::SUCCESS) return std::nullopt;
    while (!raw.empty() && isJsonSpace(raw.back())) raw.remove_suffix(1);
    return std::optional<Span>(Span{static_cast<size_t>(raw.data() - padded.data()), raw.size()});
  }
  return std::optional<Span>();
}

}  // namespace

std::optional<std::string> setTopLevelString(std::string_view body, std::string_view key,
                                             std::string_view value) {
  simdjson::padded_string padded(body);
  auto found = findTopLevelValue(padded, key);
  if (!found) return std::nullopt;
  std::string encoded = nlohmann::json(std::string(value)).dump();
  std::string out;
  out.reserve(body.size() + encoded.size() + key.size() + 4);
  if (found->has_value()) {
    const Span span = **found;
    out.append(body.substr(0, span.offset))
        .append(encoded)
        .append(body.substr(span.offset + span.length));
    return out;
  }
  size_t brace = body.find('{');
  if (brace == std::string_view::npos) return std::nullopt;
  size_t next = body.find_first_not_of(" \t\r\n", brace + 1);
  bool empty_object = next != std::string_view::npos && body[next] == '}';
  out.append(body.substr(0, brace + 1));
  out.append(nlohmann::json(std::string(key)).dump()).append(":").append(encoded);
  if (!empty_object) out.append(",");
  out.append(body.substr(brace + 1));
  return out;
}

}  // namespace arkroute
