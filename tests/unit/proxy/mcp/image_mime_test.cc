// Image MIME sniffing from magic numbers, raw and base64.
#include "proxy/mcp/image_mime.h"

#include <gtest/gtest.h>

namespace arkroute::mcp {
namespace {

TEST(McpImageMime, DetectsEachFormatFromItsMagic) {
  EXPECT_EQ(detectImageMime(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)), "image/png");
  EXPECT_EQ(detectImageMime("\xFF\xD8\xFF\xE0\x00\x10JFIF"), "image/jpeg");
  EXPECT_EQ(detectImageMime(std::string("RIFF\x24\x00\x00\x00WEBPVP8 ", 16)), "image/webp");
  EXPECT_EQ(detectImageMime("GIF89a\x01\x00"), "image/gif");
  EXPECT_EQ(detectImageMime("GIF87a\x01\x00"), "image/gif");
}

TEST(McpImageMime, UnknownOrTruncatedBytesGiveEmpty) {
  EXPECT_EQ(detectImageMime(""), "");
  EXPECT_EQ(detectImageMime("\x89PN"), "");
  EXPECT_EQ(detectImageMime("RIFF\x24\x00\x00\x00WAVE"), "");
  EXPECT_EQ(detectImageMime("<svg xmlns="), "");
}

TEST(McpImageMime, Base64IsTheStandardAlphabetWithPaddingOnlyAtTheEnd) {
  EXPECT_TRUE(isBase64("aGVsbG8="));
  EXPECT_TRUE(isBase64("aGVsbG8"));
  EXPECT_TRUE(isBase64("YQ=="));
  EXPECT_FALSE(isBase64(""));
  EXPECT_FALSE(isBase64("aGVs=G8="));
  EXPECT_FALSE(isBase64("aGVsbG8_"));
  EXPECT_FALSE(isBase64("aGVsb"));
  EXPECT_FALSE(isBase64("YQ==="));
}

TEST(McpImageMime, Base64PrefixIsEnough) {
  // base64 of the 8-byte PNG signature + IHDR chunk header.
  EXPECT_EQ(detectImageMimeBase64("iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2"), "image/png");
  EXPECT_EQ(detectImageMimeBase64("/9j/4AAQSkZJRgABAQ"), "image/jpeg");
  EXPECT_EQ(detectImageMimeBase64("UklGRiQAAABXRUJQVlA4IA"), "image/webp");
  EXPECT_EQ(detectImageMimeBase64("R0lGODlhAQABAIAAAP"), "image/gif");
  EXPECT_EQ(detectImageMimeBase64("aGVsbG8gd29ybGQ="), "");
  EXPECT_EQ(detectImageMimeBase64(""), "");
}

TEST(McpImageMime, DecodesABoundedPrefix) {
  EXPECT_EQ(decodeBase64Prefix("aGVsbG8gd29ybGQ=", 5), "hello");
  EXPECT_EQ(decodeBase64Prefix("aGVsbG8gd29ybGQ=", 100), "hello world");
}

}  // namespace
}  // namespace arkroute::mcp
