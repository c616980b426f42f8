// A model's price, as configured under [model.price] (or shipped in conf/arkroute.toml): per image
// by quality × size with defaults, and optional per-million-token rates that give the exact cost
// when a response reports `usage`. Plain data; the arithmetic lives in proxy/pricing.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace arkroute {

struct TokenRates {
  double text_input_per_million = 0;
  double image_input_per_million = 0;
  double image_output_per_million = 0;
};

struct ModelPrice {
  // per_image["high"]["1024x1536"] = 0.126; the quality "*" and size "*" entries are defaults.
  std::map<std::string, std::map<std::string, double>> per_image;
  std::optional<TokenRates> tokens;

  bool empty() const { return per_image.empty() && !tokens; }
};

}  // namespace arkroute
