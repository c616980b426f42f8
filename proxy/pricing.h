// Cost arithmetic: what a response cost (exact from `usage` × token rates when both exist, else
// the per-image table × the number of images) and what a request would cost before it is sent
// (the table, or the typical output tokens of gpt-image-1 per quality and size). Amounts are USD.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "conf/price.h"

namespace arkroute {

struct TokenUsage {
  double text_input = 0;
  double image_input = 0;
  double output = 0;
  // Seedream's count of the images it made (it takes no n); 0 to 1,000 when given.
  std::optional<int> generated_images;
};

// Reads `usage` (input_tokens_details.text_tokens / image_tokens, or input_tokens; output_tokens;
// Seedream's generated_images) from a whole response or only its end (JSON or SSE): the last
// "usage" object found in it, parsed alone. Lets a streamed-through response be priced exactly
// without keeping its body. Nullopt when there is none, or it is cut short or malformed.
std::optional<TokenUsage> usageFromTail(std::string_view tail);

// False when the text cannot hold a usage.generated_images (Seedream's count of a set): a quick
// look, so answers whose usage only token rates would need are not parsed for it.
bool mayCountImages(std::string_view tail);

// The images a stored answer holds by its own count (Seedream's usage.generated_images, read from
// the answer's last 4 KiB: no parse of the images), else asked (n, which the other providers
// make exactly).
int imagesInAnswer(std::string_view answer, int asked);

// Price of one image at quality × size from the table (falling back to "*" entries); nullopt when
// the table has no matching entry.
std::optional<double> unitPrice(const ModelPrice& price, std::string_view quality,
                                std::string_view size);

// Cost of a finished response; nullopt when the model has no usable price.
std::optional<double> responseCost(const ModelPrice& price, std::string_view quality,
                                   std::string_view size, size_t images,
                                   const std::optional<TokenUsage>& usage);

// Estimated cost of a request before sending it (n images); nullopt when unknown.
std::optional<double> estimateCost(const ModelPrice& price, std::string_view quality,
                                   std::string_view size, int n);

// What a key's budget holds back for a request before it is sent: the estimate for `images`,
// and for a token-priced model at least what its typical output tokens cost (the usage it
// settles at may exceed the table, e.g. gpt-image-1 at quality "auto" made at "high").
std::optional<double> budgetEstimate(const ModelPrice& price, std::string_view quality,
                                     std::string_view size, int images);

// An amount for a JSON report: rounded to a billionth of a dollar, so that sums of prices read
// 0.75, not 0.7500000000000001 (binary fractions).
double roundUsd(double amount);

// "0.042000" style fixed formatting used in headers ("unknown" for nullopt).
std::string formatUsd(std::optional<double> amount);

}  // namespace arkroute
