// PNG assembly with zlib (deflate for IDAT, crc32 for chunks) and OpenSSL's base64 encoder. The
// picture is an 8-bit palette image: the seed picks the 256 colours, the size the index rows.
#include "tests/sim/png.h"

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

namespace arkroute::sim {

namespace {

void putU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void appendChunk(std::string* png, const char type[4], std::string_view data) {
  putU32(png, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body.append(data);
  png->append(body);
  uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  putU32(png, crc);
}

// Scanlines of the mosaic's palette indices: the first row of each band of cells lists them
// (filter None), the band's other rows repeat it (filter Up, all zero). They depend only on the
// size, so the deflated form is built once per size.
std::string mosaicRows(int width, int height) {
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (1 + static_cast<size_t>(width)));
  int previous_band = -1;
  for (int y = 0; y < height; ++y) {
    int band = y * 16 / height;
    if (band == previous_band) {
      raw.push_back('\x02');  // filter: Up
      raw.append(static_cast<size_t>(width), '\0');
      continue;
    }
    previous_band = band;
    raw.push_back('\0');  // filter: None
    for (int x = 0; x < width; ++x) raw.push_back(static_cast<char>(band * 16 + x * 16 / width));
  }
  return raw;
}

std::string deflate(const std::string& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(size, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), 6);
  out.resize(size);
  return out;
}

// The deflated mosaic for a size, kept for the sizes seen last (the simulator serves few).
const std::string& mosaicIdat(int width, int height) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::string> built;
  std::lock_guard lock(mutex);
  auto key = std::make_pair(width, height);
  auto it = built.find(key);
  if (it != built.end()) return it->second;
  if (built.size() >= 16) built.clear();
  return built[key] = deflate(mosaicRows(width, height));
}

// 256 RGB colours derived from the seed: the palette the mosaic's cells index.
std::string palette(uint64_t seed) {
  std::string colors;
  colors.reserve(256 * 3);
  for (uint64_t cell = 0; cell < 256; ++cell) {
    uint64_t input[2] = {seed, cell};
    uint64_t color = XXH3_64bits(input, sizeof input);
    for (int shift = 0; shift < 24; shift += 8) colors.push_back(static_cast<char>(color >> shift));
  }
  return colors;
}

std::string filler(uint64_t seed, size_t length) {
  std::string out;
  out.reserve(length + 8);
  uint64_t state = seed;
  while (out.size() < length) {
    state = XXH3_64bits(&state, sizeof state);
    out.append(reinterpret_cast<const char*>(&state), sizeof state);
  }
  out.resize(length);
  return out;
}

}  // namespace

std::string makePng(uint64_t seed, int width, int height, size_t target_base64_bytes) {
  width = std::clamp(width, 1, kMaxPngSide);
  height = std::clamp(height, 1, kMaxPngSide);
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  putU32(&header, static_cast<uint32_t>(width));
  putU32(&header, static_cast<uint32_t>(height));
  header += std::string("\x08\x03\x00\x00\x00", 5);  // 8-bit palette, deflate, no interlace
  appendChunk(&png, "IHDR", header);
  appendChunk(&png, "PLTE", palette(seed));
  const std::string& idat = mosaicIdat(width, height);
  size_t natural = png.size() + idat.size() + 12 + 12;
  size_t target_bytes = target_base64_bytes / 4 * 3;
  if (target_bytes > natural + 12) {
    appendChunk(&png, "arKp", filler(seed, target_bytes - natural - 12));
  }
  appendChunk(&png, "IDAT", idat);
  appendChunk(&png, "IEND", "");
  return png;
}

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace arkroute::sim
