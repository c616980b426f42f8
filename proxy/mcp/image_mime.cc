// Magic-number sniffing for PNG, JPEG, WebP and GIF.
#include "proxy/mcp/image_mime.h"

namespace arkroute::mcp {

namespace {

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::string_view detectImageMime(std::string_view bytes) {
  if (bytes.starts_with(std::string_view("\x89PNG\r\n\x1a\n", 8))) return "image/png";
  if (bytes.starts_with("\xFF\xD8\xFF")) return "image/jpeg";
  if (bytes.size() >= 12 && bytes.starts_with("RIFF") && bytes.substr(8, 4) == "WEBP") {
    return "image/webp";
  }
  if (bytes.starts_with("GIF87a") || bytes.starts_with("GIF89a")) return "image/gif";
  return "";
}

std::string decodeBase64Prefix(std::string_view base64, size_t max_bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : base64) {
    if (out.size() >= max_bytes) break;
    int value = base64Value(c);
    if (value < 0) break;
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::string_view detectImageMimeBase64(std::string_view base64) {
  return detectImageMime(decodeBase64Prefix(base64, 16));
}

bool isBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 == 1) return false;  // unpadded is fine; one spare is not
  size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    char c = text[i];
    bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!alphabet) return false;
  }
  return true;
}

}  // namespace arkroute::mcp
