// JSON text written by hand where a JSON library's per-byte work would hold an event loop:
// answers that carry images as megabytes of base64 (stream replays and captures, translated
// edits, Kling's answers, MCP results). nlohmann's dump validates UTF-8 byte by byte (~150 ms for
// a 14 MB string here); appendString copies the runs that need no escaping, checked 8 bytes at a
// time, and dump() writes a whole nlohmann value that way.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace arkroute::json_text {

// Appends text as a JSON string literal: '"', '\' and control characters escaped (RFC 8259),
// every other byte (UTF-8 or not) as it is.
void appendString(std::string_view text, std::string& out);

// value as JSON text, as nlohmann's dump() with error_handler_t::replace would write it (compact;
// a string that is not valid UTF-8 has its bad bytes replaced by U+FFFD), but with the strings,
// which may be images, written by appendString after one fast UTF-8 check.
std::string dump(const nlohmann::json& value);

// Adds a member whose value is JSON text already (value_json) at the end of object_json, the
// compact text of a JSON object (e.g. a library's dump of a small object, before a large member
// joins it).
void addRawMember(std::string& object_json, std::string_view key, std::string_view value_json);
// The same with a string value, escaped straight into object_json (no copy of a large value).
void addStringMember(std::string& object_json, std::string_view key, std::string_view text);

// The deepest nesting of arrays and objects in the JSON text (brackets inside strings do not
// count). A parsed value is copied and compared recursively, so input nested past what a
// protocol needs is refused before parsing: 200,000 '[' would exhaust a thread's stack.
size_t nestingDepth(std::string_view text);

// The JSON text with every integer that fits in no 64-bit integer (100000000000000000000, but
// not 18446744073709551615) written as a number of the same value with a fraction
// ("100000000000000000000.0"), so that a parser that refuses such integers reads them as doubles;
// nullopt when there is none. The text is assumed to be JSON (strings are skipped, not checked).
std::optional<std::string> widenBigIntegers(std::string_view text);

// Writes one JSON object's members in the order given, into out.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  ObjectWriter& string(std::string_view key, std::string_view value);
  ObjectWriter& number(std::string_view key, int64_t value);
  // A value that is JSON text already (an object, an array, a minified value).
  ObjectWriter& raw(std::string_view key, std::string_view json);
  void close() { out_.push_back('}'); }

 private:
  void key(std::string_view name);
  std::string& out_;
  bool first_ = true;
};

}  // namespace arkroute::json_text
