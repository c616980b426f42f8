// Price table lookups and usage-based cost.
#include "proxy/pricing.h"

#include <simdjson.h>

#include <charconv>
#include <cstdio>

namespace arkroute {

namespace {

std::optional<double> lookupSize(const std::map<std::string, double>& sizes,
                                 std::string_view size) {
  auto it = sizes.find(std::string(size));
  if (it != sizes.end()) return it->second;
  it = sizes.find("*");
  if (it != sizes.end()) return it->second;
  return std::nullopt;
}

// Typical output tokens per image for GPT image models (API-NOTES), used to estimate token-priced
// requests before the response reports real usage.
double typicalOutputTokens(std::string_view quality, std::string_view size) {
  int column = size == "1024x1536" ? 1 : size == "1536x1024" ? 2 : 0;
  static constexpr double kLow[] = {272, 408, 400};
  static constexpr double kMedium[] = {1056, 1584, 1568};
  static constexpr double kHigh[] = {4160, 6240, 6208};
  if (quality == "low") return kLow[column];
  if (quality == "medium") return kMedium[column];
  return kHigh[column];
}

double readNumber(simdjson::dom::element object, const char* key) {
  double value = 0;
  int64_t integer = 0;
  if (object[key].get(integer) == simdjson::SUCCESS) return static_cast<double>(integer);
  if (object[key].get(value) == simdjson::SUCCESS) return value;
  return 0;
}

}  // namespace

std::optional<TokenUsage> usageFromResponse(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root, usage, details;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  if (!root.is_object() || root["usage"].get(usage) != simdjson::SUCCESS) return std::nullopt;
  if (!usage.is_object()) return std::nullopt;
  TokenUsage out;
  out.output = readNumber(usage, "output_tokens");
  int64_t generated = 0;
  if (usage["generated_images"].get(generated) == simdjson::SUCCESS && generated >= 0 &&
      generated <= 1000) {
    out.generated_images = static_cast<int>(generated);
  }
  if (usage["input_tokens_details"].get(details) == simdjson::SUCCESS && details.is_object()) {
    out.text_input = readNumber(details, "text_tokens");
    out.image_input = readNumber(details, "image_tokens");
  } else {
    out.text_input = readNumber(usage, "input_tokens");
  }
  return out;
}

std::optional<double> unitPrice(const ModelPrice& price, std::string_view quality,
                                std::string_view size) {
  std::string q = quality.empty() ? "auto" : std::string(quality);
  std::string s = size.empty() ? "auto" : std::string(size);
  auto it = price.per_image.find(q);
  if (it != price.per_image.end()) {
    if (auto found = lookupSize(it->second, s)) return found;
  }
  it = price.per_image.find("*");
  if (it != price.per_image.end()) return lookupSize(it->second, s);
  return std::nullopt;
}

std::optional<double> responseCost(const ModelPrice& price, std::string_view quality,
                                   std::string_view size, size_t images,
                                   const std::optional<TokenUsage>& usage) {
  if (price.tokens && usage) {
    const TokenRates& r = *price.tokens;
    return (usage->text_input * r.text_input_per_million +
            usage->image_input * r.image_input_per_million +
            usage->output * r.image_output_per_million) /
           1e6;
  }
  auto unit = unitPrice(price, quality, size);
  if (!unit) return std::nullopt;
  return *unit * static_cast<double>(images);
}

std::optional<double> estimateCost(const ModelPrice& price, std::string_view quality,
                                   std::string_view size, int n) {
  if (auto unit = unitPrice(price, quality, size)) return *unit * n;
  if (price.tokens) {
    return typicalOutputTokens(quality, size) * price.tokens->image_output_per_million / 1e6 * n;
  }
  return std::nullopt;
}

std::optional<TokenUsage> usageFromTail(std::string_view tail) {
  size_t key = tail.rfind("\"usage\"");
  if (key == std::string_view::npos) return std::nullopt;
  size_t open = tail.find('{', key);
  if (open == std::string_view::npos) return std::nullopt;
  int depth = 0;
  bool in_string = false;
  for (size_t i = open; i < tail.size(); ++i) {
    char c = tail[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{') ++depth;
    if (c == '}' && --depth == 0) {
      std::string wrapped = "{\"usage\":" + std::string(tail.substr(open, i - open + 1)) + "}";
      return usageFromResponse(wrapped);
    }
  }
  return std::nullopt;
}

std::string formatUsd(std::optional<double> amount) {
  if (!amount) return "unknown";
  char buffer[64];  // as "%.6f" prints it, without printf's cost on every response
  auto [end, error] =
      std::to_chars(buffer, buffer + sizeof buffer, *amount, std::chars_format::fixed, 6);
  if (error != std::errc()) return "unknown";  // beyond 10^57 dollars: not a price
  return std::string(buffer, end);
}

}  // namespace arkroute
