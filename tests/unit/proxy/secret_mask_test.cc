// SecretMask: the gateway's provider key never passes through in a provider's answer, whole or
// split across the pieces it arrives in, and nothing else about the answer changes.
#include "proxy/secret_mask.h"

#include <gtest/gtest.h>

#include <string>

namespace arkroute {
namespace {

std::string drain(evbuffer* buffer) {
  std::string text(evbuffer_get_length(buffer), '\0');
  evbuffer_remove(buffer, text.data(), text.size());
  return text;
}

TEST(MaskSecret, EveryWholeOccurrenceBecomesStarsOfItsLength) {
  std::string text = "key sk-abc123 and sk-abc123sk-abc123, not sk-abc12";
  maskSecret("sk-abc123", &text);
  EXPECT_EQ(text, "key ********* and ******************, not sk-abc12");
  std::string untouched = "nothing here";
  maskSecret("", &untouched);
  EXPECT_EQ(untouched, "nothing here");
}

// Fed in pieces of every size, the body comes out the same length, masked, and in order.
TEST(SecretMask, AKeySplitAcrossPiecesIsMaskedAndTheRestPassesUnchanged) {
  const std::string key = "sk-SECRETPROVIDERKEY123";
  const std::string body = R"({"error":{"message":"Incorrect API key provided: Bearer )" + key +
                           R"(. Check )" + key + R"("}})";
  std::string expected = body;
  maskSecret(key, &expected);
  ASSERT_EQ(expected.find(key), std::string::npos);
  for (size_t piece = 1; piece <= body.size(); ++piece) {
    SecretMask mask(key);
    evbuffer* in = evbuffer_new();
    std::string out;
    for (size_t at = 0; at < body.size(); at += piece) {
      evbuffer_add(in, body.data() + at, std::min(piece, body.size() - at));
      out += drain(mask.pass(in));
      EXPECT_EQ(evbuffer_get_length(in), 0u);
    }
    out += drain(mask.finish());
    evbuffer_free(in);
    EXPECT_EQ(out, expected) << "pieces of " << piece;
  }
}

}  // namespace
}  // namespace arkroute
