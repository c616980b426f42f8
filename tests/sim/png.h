// Deterministic, valid PNG images for the simulator: a 16x16 mosaic stretched to the requested
// size, whose colours derive from a seed, padded with a private ancillary chunk so the base64 form
// reaches a requested size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace arkroute::sim {

// The largest side makePng draws; larger requests are clamped to it.
inline constexpr int kMaxPngSide = 4096;

// A valid width x height PNG for `seed`; when target_base64_bytes exceeds the natural size, an
// "arKp" chunk of deterministic filler brings the base64 length close to it.
std::string makePng(uint64_t seed, int width, int height, size_t target_base64_bytes);
std::string base64Encode(std::string_view bytes);

}  // namespace arkroute::sim
