// Typed reading of an edit form's text fields (std::from_chars for numbers, UTF-8 checked).
#include "proxy/edit_as_generation.h"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <string>

#include "proxy/http/headers.h"

namespace arkroute {

namespace {

constexpr std::array<std::string_view, 3> kIntegers = {"n", "seed", "partial_images"};
constexpr std::array<std::string_view, 2> kBooleans = {"stream", "watermark"};

bool isOneOf(std::string_view name, const auto& names) {
  for (std::string_view known : names) {
    if (known == name) return true;
  }
  return false;
}

ApiError badField(const std::string& name, const char* what) {
  return ApiError::invalidValue("'" + name + "' must be " + what + ".", name);
}

template <typename Number>
std::optional<Number> readNumber(std::string_view text) {
  Number value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The JSON value of one text field, typed by its name.
std::variant<nlohmann::json, ApiError> fieldValue(const std::string& name, std::string_view text) {
  if (isOneOf(name, kIntegers)) {
    if (auto value = readNumber<int64_t>(text)) return nlohmann::json(*value);
    return badField(name, "a whole number");
  }
  if (isOneOf(name, kBooleans)) {
    // As the OpenAI edit path reads them: "True" from curl users too.
    if (http::equalsIgnoreCase(text, "true")) return nlohmann::json(true);
    if (http::equalsIgnoreCase(text, "false")) return nlohmann::json(false);
    return badField(name, "true or false");
  }
  if (name == "guidance_scale") {
    if (auto value = readNumber<double>(text)) return nlohmann::json(*value);
    return badField(name, "a number");
  }
  return nlohmann::json(std::string(text));
}

}  // namespace

std::variant<EditAsGeneration, ApiError> readEditAsGeneration(
    std::string_view body, const std::vector<http::FormPart>& parts) {
  EditAsGeneration edit;
  for (const http::FormPart& part : parts) {
    if (part.filename) {
      if (part.name == "image" || part.name == "image[]") edit.images.push_back(&part);
      if (part.name == "mask") edit.mask = &part;
      continue;
    }
    // The fields become JSON text for the provider: bytes that are not UTF-8 are refused here,
    // as a JSON body's are, before any JSON library is handed them.
    if (!simdjson::validate_utf8(part.name.data(), part.name.size())) {
      return ApiError::invalidRequest("A form field's name is not UTF-8 text.");
    }
    std::string_view text = part.value(body);
    if (!simdjson::validate_utf8(text.data(), text.size())) {
      return badField(part.name, "UTF-8 text");
    }
    auto value = fieldValue(part.name, text);
    if (auto* error = std::get_if<ApiError>(&value)) return *error;
    edit.fields[part.name] = std::move(std::get<nlohmann::json>(value));
  }
  if (edit.images.empty()) return ApiError::invalidValue("An edit needs an 'image' file.", "image");
  for (const char* name : {"image", "image[]"}) {
    // The files go to the provider under that name: a text field of it too would be a second
    // value the provider might read instead.
    if (edit.fields.contains(name)) {
      return ApiError::invalidValue(
          std::string("'") + name + "' is given as text and as a file: send the images as files.",
          name);
    }
  }
  return edit;
}

}  // namespace arkroute
