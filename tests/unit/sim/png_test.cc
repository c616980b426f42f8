// The simulator's PNGs decoded with zlib: valid chunks, the requested size, a 16x16 mosaic of the
// seed's palette, padding to the requested base64 size; and how a request's size names the picture.
#include "tests/sim/png.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "tests/sim/sim_images.h"

namespace arkroute::sim {
namespace {

struct Chunk {
  std::string type, data;
};

uint32_t readU32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// Splits a PNG into chunks, failing the test on a bad signature, length or CRC.
std::vector<Chunk> readChunks(const std::string& png) {
  std::vector<Chunk> chunks;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  for (size_t at = 8; at + 12 <= png.size();) {
    uint32_t length = readU32(png, at);
    EXPECT_LE(at + 12 + length, png.size());
    std::string typed = png.substr(at + 4, 4 + length);
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(typed.data()), typed.size());
    EXPECT_EQ(crc, readU32(png, at + 8 + length)) << typed.substr(0, 4);
    chunks.push_back({typed.substr(0, 4), typed.substr(4)});
    at += 12 + length;
  }
  return chunks;
}

const Chunk* find(const std::vector<Chunk>& chunks, const std::string& type) {
  for (const Chunk& chunk : chunks)
    if (chunk.type == type) return &chunk;
  return nullptr;
}

// The palette index of every pixel, rows defiltered (None and Up are what the simulator writes).
std::vector<std::string> indexRows(const std::string& idat, int width, int height) {
  std::string raw(static_cast<size_t>(height) * (width + 1), '\0');
  uLongf size = raw.size();
  EXPECT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &size,
                       reinterpret_cast<const Bytef*>(idat.data()), idat.size()),
            Z_OK);
  EXPECT_EQ(size, raw.size());
  std::vector<std::string> rows;
  std::string previous(static_cast<size_t>(width), '\0');
  for (int y = 0; y < height; ++y) {
    const char* line = raw.data() + static_cast<size_t>(y) * (width + 1);
    std::string row(line + 1, static_cast<size_t>(width));
    EXPECT_TRUE(line[0] == 0 || line[0] == 2) << "filter " << int(line[0]);
    if (line[0] == 2)
      for (int x = 0; x < width; ++x) row[x] = static_cast<char>(row[x] + previous[x]);
    rows.push_back(row);
    previous = row;
  }
  return rows;
}

TEST(SimPng, IsAPaletteImageOfTheRequestedSizeShowingA16By16Mosaic) {
  const int width = 1536, height = 1024;
  std::vector<Chunk> chunks = readChunks(makePng(7, width, height, 0));
  ASSERT_EQ(chunks.front().type, "IHDR");
  EXPECT_EQ(chunks.back().type, "IEND");
  const std::string& ihdr = chunks.front().data;
  EXPECT_EQ(readU32(ihdr, 0), 1536u);
  EXPECT_EQ(readU32(ihdr, 4), 1024u);
  EXPECT_EQ(ihdr.substr(8), std::string("\x08\x03\x00\x00\x00", 5));
  ASSERT_NE(find(chunks, "PLTE"), nullptr);
  EXPECT_EQ(find(chunks, "PLTE")->data.size(), 256u * 3);
  ASSERT_NE(find(chunks, "IDAT"), nullptr);
  std::vector<std::string> rows = indexRows(find(chunks, "IDAT")->data, width, height);
  for (int y : {0, 63, 64, 500, 1023}) {
    for (int x : {0, 95, 96, 1000, 1535}) {
      EXPECT_EQ(static_cast<unsigned char>(rows[y][x]), y / 64 * 16 + x / 96) << x << "," << y;
    }
  }
}

TEST(SimPng, TheSeedPicksTheColoursAndTheSameSeedTheSameBytes) {
  std::string a = makePng(1, 64, 32, 0), b = makePng(2, 64, 32, 0);
  EXPECT_EQ(a, makePng(1, 64, 32, 0));
  EXPECT_NE(find(readChunks(a), "PLTE")->data, find(readChunks(b), "PLTE")->data);
  EXPECT_EQ(find(readChunks(a), "IDAT")->data, find(readChunks(b), "IDAT")->data);
}

TEST(SimPng, PaddingBringsTheBase64CloseToTheTarget) {
  for (auto [side, target] : {std::pair{64, size_t{4000}}, std::pair{1024, size_t{1'400'000}}}) {
    std::string png = makePng(3, side, side, target);
    std::string encoded = base64Encode(png);
    EXPECT_LE(encoded.size(), target + 4);
    EXPECT_GE(encoded.size() + 8, target);
    EXPECT_NE(find(readChunks(png), "arKp"), nullptr);
  }
}

TEST(SimPng, ATargetBelowTheNaturalSizeAddsNothing) {
  std::string png = makePng(3, 1024, 1024, 100);
  EXPECT_EQ(find(readChunks(png), "arKp"), nullptr);
  EXPECT_EQ(png, makePng(3, 1024, 1024, 0));
}

TEST(SimPng, SidesAreClampedToTheLargestDrawn) {
  std::string ihdr = readChunks(makePng(1, 100000, 0, 0)).front().data;
  EXPECT_EQ(readU32(ihdr, 0), static_cast<uint32_t>(kMaxPngSide));
  EXPECT_EQ(readU32(ihdr, 4), 1u);
}

TEST(SimPictureSize, FollowsTheRequestedSize) {
  using Size = std::pair<int, int>;
  EXPECT_EQ(pictureSize("1536x1024"), Size(1536, 1024));
  EXPECT_EQ(pictureSize("1024x1792"), Size(1024, 1792));
  EXPECT_EQ(pictureSize("16:9/1k"), Size(1024, 576));
  EXPECT_EQ(pictureSize("2:3/2k"), Size(1365, 2048));
  EXPECT_EQ(pictureSize("auto"), Size(1024, 1024));
  EXPECT_EQ(pictureSize("2K"), Size(2048, 2048));
  EXPECT_EQ(pictureSize("3K"), Size(1024, 1024));
  EXPECT_EQ(pictureSize("x1024"), Size(1024, 1024));
  EXPECT_EQ(pictureSize("12ax40"), Size(1024, 1024));
}

}  // namespace
}  // namespace arkroute::sim
