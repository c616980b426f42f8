// PNG assembly with zlib (deflate for IDAT, crc32 for chunks) and OpenSSL's base64 encoder.
#include "tests/sim/png.h"

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>

#include <vector>

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

std::string pixels(uint64_t seed, int width, int height) {
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (1 + 3 * width));
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');  // filter: none
    for (int x = 0; x < width; ++x) {
      uint64_t cell = seed ^ (static_cast<uint64_t>(y / 4) << 32) ^ static_cast<uint64_t>(x / 4);
      uint64_t color = XXH3_64bits(&cell, sizeof cell);
      raw.push_back(static_cast<char>(color & 0xff));
      raw.push_back(static_cast<char>((color >> 8) & 0xff));
      raw.push_back(static_cast<char>((color >> 16) & 0xff));
    }
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
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  putU32(&header, static_cast<uint32_t>(width));
  putU32(&header, static_cast<uint32_t>(height));
  header += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, no filter, no interlace
  appendChunk(&png, "IHDR", header);
  std::string idat = deflate(pixels(seed, width, height));
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
