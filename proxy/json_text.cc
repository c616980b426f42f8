// String escaping in runs: a word-at-a-time test finds the 8-byte blocks with nothing to escape.
#include "proxy/json_text.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace arkroute::json_text {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Whether any byte of word is below n (n ≤ 128; exact for the word as a whole).
constexpr bool anyBelow(uint64_t word, uint64_t n) {
  return ((word - kOnes * n) & ~word & kHighBits) != 0;
}

constexpr bool anyEqual(uint64_t word, unsigned char byte) {
  return anyBelow(word ^ (kOnes * byte), 1);
}

// 8 bytes at p that need no escaping.
bool plainWord(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return !anyBelow(word, 0x20) && !anyEqual(word, '"') && !anyEqual(word, '\\');
}

bool plainByte(char c) {
  return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\';
}

void appendEscaped(char c, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (c == '"' || c == '\\') {
    out.push_back('\\');
    out.push_back(c);
    return;
  }
  auto byte = static_cast<unsigned char>(c);
  out.append("\\u00");
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0xf]);
}

}  // namespace

void appendString(std::string_view text, std::string& out) {
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* run = p;
    while (end - p >= 8 && plainWord(p)) p += 8;
    while (p < end && plainByte(*p)) ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p < end) appendEscaped(*p++, out);
  }
  out.push_back('"');
}

namespace {

// A string as dump(replace) writes it: escaped in runs when it is valid UTF-8 (checked with
// simdjson, fast), else by nlohmann, which replaces the bad bytes.
void appendText(std::string_view text, std::string& out) {
  if (simdjson::validate_utf8(text.data(), text.size())) return appendString(text, out);
  out.append(nlohmann::json(std::string(text))
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void appendValue(const nlohmann::json& value, std::string& out) {
  if (value.is_object()) {
    out.push_back('{');
    for (auto member = value.begin(); member != value.end(); ++member) {
      if (member != value.begin()) out.push_back(',');
      appendText(member.key(), out);
      out.push_back(':');
      appendValue(member.value(), out);
    }
    out.push_back('}');
  } else if (value.is_array()) {
    out.push_back('[');
    for (auto item = value.begin(); item != value.end(); ++item) {
      if (item != value.begin()) out.push_back(',');
      appendValue(*item, out);
    }
    out.push_back(']');
  } else if (value.is_string()) {
    appendText(value.get_ref<const std::string&>(), out);
  } else {
    out.append(value.dump());  // numbers, booleans, null: nlohmann's own forms
  }
}

}  // namespace

std::string dump(const nlohmann::json& value) {
  std::string out;
  appendValue(value, out);
  return out;
}

namespace {

// Reopens a compact object's text for one more member: its closing brace off, the key written.
void openLastMember(std::string& object_json, std::string_view key, size_t value_size) {
  object_json.pop_back();                                     // its closing brace
  if (object_json.back() != '{') object_json.push_back(',');  // compact text: no whitespace
  object_json.reserve(object_json.size() + key.size() + value_size + 6);
  appendString(key, object_json);
  object_json.push_back(':');
}

}  // namespace

void addRawMember(std::string& object_json, std::string_view key, std::string_view value_json) {
  openLastMember(object_json, key, value_json.size());
  object_json.append(value_json);
  object_json.push_back('}');
}

void addStringMember(std::string& object_json, std::string_view key, std::string_view text) {
  openLastMember(object_json, key, text.size());
  appendString(text, object_json);
  object_json.push_back('}');
}

void ObjectWriter::key(std::string_view name) {
  if (!first_) out_.push_back(',');
  first_ = false;
  appendString(name, out_);
  out_.push_back(':');
}

ObjectWriter& ObjectWriter::string(std::string_view name, std::string_view value) {
  key(name);
  appendString(value, out_);
  return *this;
}

ObjectWriter& ObjectWriter::number(std::string_view name, int64_t value) {
  key(name);
  out_.append(std::to_string(value));
  return *this;
}

ObjectWriter& ObjectWriter::raw(std::string_view name, std::string_view json) {
  key(name);
  out_.append(json);
  return *this;
}

size_t nestingDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character, a quote included
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

namespace {

// Whether the integer literal's digits (no sign) exceed what a 64-bit integer of that sign holds.
bool overflows64(std::string_view digits, bool negative) {
  std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
  if (digits.size() != limit.size()) return digits.size() > limit.size();
  return digits > limit;
}

}  // namespace

std::optional<std::string> widenBigIntegers(std::string_view text) {
  std::optional<std::string> out;
  size_t copied = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) continue;
    size_t start = i + (c == '-' ? 1 : 0);
    size_t end = start;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    bool fraction = end < text.size() && (text[end] == '.' || text[end] == 'e' || text[end] == 'E');
    if (!fraction && overflows64(text.substr(start, end - start), c == '-')) {
      if (!out) out.emplace().reserve(text.size() + 16);
      out->append(text.substr(copied, end - copied)).append(".0");
      copied = end;
    }
    while (end < text.size() && text[end] != ',' && text[end] != '}' && text[end] != ']' &&
           text[end] != ' ' && text[end] != '\n' && text[end] != '\r' && text[end] != '\t') {
      ++end;  // the rest of the number (its fraction or exponent)
    }
    i = end - 1;
  }
  if (out) out->append(text.substr(copied));
  return out;
}

}  // namespace arkroute::json_text
