// Price table lookups and usage-based cost.
#include "proxy/pricing.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

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

// Every uncached answer of a token-priced model is read for its usage, so the parser and its
// padded input (only the usage object) are kept per thread: a fresh parser allocates its buffers
// on each parse.
simdjson::error_code parseReused(std::string_view json, simdjson::dom::element* root) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;
  padded.assign(json);
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  return parser.parse(padded.data(), json.size(), false).get(*root);
}

std::optional<TokenUsage> readUsage(simdjson::dom::element usage) {
  if (!usage.is_object()) return std::nullopt;
  TokenUsage out;
  out.output = readNumber(usage, "output_tokens");
  int64_t generated = 0;
  if (usage["generated_images"].get(generated) == simdjson::SUCCESS && generated >= 0 &&
      generated <= 1000) {
    out.generated_images = static_cast<int>(generated);
  }
  simdjson::dom::element details;
  if (usage["input_tokens_details"].get(details) == simdjson::SUCCESS && details.is_object()) {
    out.text_input = readNumber(details, "text_tokens");
    out.image_input = readNumber(details, "image_tokens");
  } else {
    out.text_input = readNumber(usage, "input_tokens");
  }
  return out;
}

constexpr std::string_view kUsageKey = "\"usage\"";

// True when the character at `at` follows an odd run of backslashes: inside a string, as in the
// name "a\"usage".
bool escaped(std::string_view text, size_t at) {
  size_t backslashes = 0;
  while (at > backslashes && text[at - backslashes - 1] == '\\') ++backslashes;
  return backslashes % 2 == 1;
}

// Where the last `"usage"` that ends before `end` starts, or npos. It hops back from quote to
// quote, so the base64 that fills most tails is passed over at memchr speed.
size_t lastUsageKey(std::string_view text, size_t end) {
  while (const void* found = memrchr(text.data(), '"', end)) {
    size_t quote = static_cast<size_t>(static_cast<const char*>(found) - text.data());
    if (quote + 1 >= kUsageKey.size()) {
      size_t start = quote + 1 - kUsageKey.size();
      if (text.substr(start, kUsageKey.size()) == kUsageKey && !escaped(text, start)) return start;
    }
    end = quote;
  }
  return std::string_view::npos;
}

bool isJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The first byte of the value after a member name that ends at `at` (past the ':'), or npos when
// no ':' follows (the text was a string value, not a name).
size_t valueStart(std::string_view text, size_t at) {
  while (at < text.size() && isJsonSpace(text[at])) ++at;
  if (at == text.size() || text[at] != ':') return std::string_view::npos;
  ++at;
  while (at < text.size() && isJsonSpace(text[at])) ++at;
  return at < text.size() ? at : std::string_view::npos;
}

// One past the '}' that closes the object opening at `open` (strings and their escapes skipped),
// or npos when the text ends first.
size_t objectEnd(std::string_view text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    switch (text[i]) {
      case '"':
        for (++i; i < text.size() && text[i] != '"'; ++i) {
          if (text[i] == '\\') ++i;
        }
        break;
      case '{':
        ++depth;
        break;
      case '}':
        if (--depth == 0) return i + 1;
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

}  // namespace

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

std::optional<double> budgetEstimate(const ModelPrice& price, std::string_view quality,
                                     std::string_view size, int images) {
  std::optional<double> estimate = estimateCost(price, quality, size, images);
  if (!price.tokens) return estimate;
  double tokens =
      typicalOutputTokens(quality, size) * price.tokens->image_output_per_million / 1e6 * images;
  return std::max(estimate.value_or(0.0), tokens);
}

std::optional<TokenUsage> usageFromTail(std::string_view tail) {
  constexpr size_t npos = std::string_view::npos;
  for (size_t key = lastUsageKey(tail, tail.size()); key != npos; key = lastUsageKey(tail, key)) {
    size_t open = valueStart(tail, key + kUsageKey.size());
    if (open == npos || tail[open] != '{') continue;  // "usage" as a string value, or no object
    size_t end = objectEnd(tail, open);
    if (end == npos) return std::nullopt;  // cut short: no guess
    simdjson::dom::element usage;
    if (parseReused(tail.substr(open, end - open), &usage) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    return readUsage(usage);
  }
  return std::nullopt;
}

bool mayCountImages(std::string_view tail) {
  // Skips up to the key's length per step (memmem takes ~3 times as long on these tails).
  static constexpr std::string_view kKey = "\"generated_images\"";
  static const std::boyer_moore_horspool_searcher kSearcher(kKey.begin(), kKey.end());
  return std::search(tail.begin(), tail.end(), kSearcher) != tail.end();
}

int imagesInAnswer(std::string_view answer, int asked) {
  constexpr size_t kTail = 4096;
  std::string_view tail = answer.substr(answer.size() - std::min(answer.size(), kTail));
  if (!mayCountImages(tail)) return asked;
  auto usage = usageFromTail(tail);
  return usage && usage->generated_images ? *usage->generated_images : asked;
}

double roundUsd(double amount) {
  if (!std::isfinite(amount)) return amount;
  return std::round(amount * 1e9) / 1e9;
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
