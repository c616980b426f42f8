// The simulator's Kling mode without sockets: JWT checks at a fixed clock, base64url decoding,
// submit validation, the image identity of a task and the stats key of polls.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "tests/sim/sim_kling.h"
#include "tests/sim/sim_kling_jwt.h"

namespace arkroute::sim {
namespace {

constexpr int64_t kKlingNow = 1767225600;

std::string klingBase64Url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(bytes.data()),
                               static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(length));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string klingToken(const std::string& payload, const std::string& secret = "sim-secret-key",
                       const std::string& header = R"({"alg":"HS256","typ":"JWT"})") {
  std::string signed_part = klingBase64Url(header) + "." + klingBase64Url(payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
       &mac_length);
  return signed_part + "." + klingBase64Url(std::string(reinterpret_cast<char*>(mac), mac_length));
}

std::string klingClaims(const std::string& iss, int64_t exp, int64_t nbf) {
  return R"({"iss":")" + iss + R"(","exp":)" + std::to_string(exp) + R"(,"nbf":)" +
         std::to_string(nbf) + "}";
}

std::optional<std::string> checkBearer(const std::string& token, const KlingKeys& keys = {}) {
  std::string header = "Bearer " + token;
  return checkKlingAuthorization(header.c_str(), keys, kKlingNow);
}

TEST(KlingJwt, ValidTokenPasses) {
  EXPECT_EQ(checkBearer(klingToken(klingClaims("sim-access-key", kKlingNow + 1800, kKlingNow - 5))),
            std::nullopt);
  KlingKeys keys{"AK", "SK"};
  EXPECT_EQ(checkBearer(klingToken(klingClaims("AK", kKlingNow + 1, kKlingNow), "SK"), keys),
            std::nullopt);
  std::string lower_scheme =
      "bearer " + klingToken(klingClaims("AK", kKlingNow + 1, kKlingNow), "SK");
  EXPECT_EQ(checkKlingAuthorization(lower_scheme.c_str(), keys, kKlingNow), std::nullopt);
}

TEST(KlingJwt, BadSignatureIsRefused) {
  std::string claims = klingClaims("sim-access-key", kKlingNow + 1800, kKlingNow);
  EXPECT_EQ(checkBearer(klingToken(claims, "another-secret")), "signature invalid");
  std::string token = klingToken(claims);
  token.back() = token.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(checkBearer(token), "signature invalid");
  // The payload changed after signing.
  std::string forged = klingToken(klingClaims("sim-access-key", kKlingNow + 99999, kKlingNow));
  std::string original = klingToken(claims);
  std::string mixed = original.substr(0, original.find('.')) +
                      forged.substr(forged.find('.'), forged.rfind('.') - forged.find('.')) +
                      original.substr(original.rfind('.'));
  EXPECT_EQ(checkBearer(mixed), "signature invalid");
}

TEST(KlingJwt, ExpiredTokenIsRefused) {
  EXPECT_EQ(checkBearer(klingToken(klingClaims("sim-access-key", kKlingNow - 1, kKlingNow - 60))),
            "token expired");
  EXPECT_EQ(checkBearer(klingToken(klingClaims("sim-access-key", kKlingNow, kKlingNow - 60))),
            "token expired");
}

TEST(KlingJwt, WrongIssuerIsRefused) {
  EXPECT_EQ(checkBearer(klingToken(klingClaims("someone-else", kKlingNow + 60, kKlingNow))),
            "iss is not the access key");
  EXPECT_EQ(checkBearer(klingToken(R"({"exp":1767225700,"nbf":1767225600})")), "token has no iss");
}

TEST(KlingJwt, NotBeforeAllowsFiveSecondsOfSkew) {
  EXPECT_EQ(checkBearer(klingToken(klingClaims("sim-access-key", kKlingNow + 60, kKlingNow + 5))),
            std::nullopt);
  EXPECT_EQ(checkBearer(klingToken(klingClaims("sim-access-key", kKlingNow + 60, kKlingNow + 6))),
            "token not yet valid (nbf)");
}

TEST(KlingJwt, MalformedAuthorizationIsRefused) {
  KlingKeys keys;
  EXPECT_EQ(checkKlingAuthorization(nullptr, keys, kKlingNow), "missing Authorization");
  EXPECT_EQ(checkKlingAuthorization("", keys, kKlingNow), "missing Authorization");
  EXPECT_EQ(checkKlingAuthorization("Basic abc", keys, kKlingNow),
            "Authorization is not \"Bearer <token>\"");
  EXPECT_EQ(checkBearer("a.b"), "token is not a JWT (header.payload.signature)");
  EXPECT_EQ(checkBearer("a.b.c.d"), "token is not a JWT (header.payload.signature)");
  std::string good = klingToken(klingClaims("sim-access-key", kKlingNow + 60, kKlingNow));
  EXPECT_EQ(checkBearer(good + "="), "token is not base64url without padding");
  std::string none = klingToken(klingClaims("sim-access-key", kKlingNow + 60, kKlingNow),
                                "sim-secret-key", R"({"alg":"none"})");
  EXPECT_EQ(checkBearer(none), "token header alg is not HS256");
  EXPECT_EQ(checkBearer(klingToken(R"({"iss":"sim-access-key","exp":"soon","nbf":0})")),
            "token has no numeric exp");
  EXPECT_EQ(checkBearer(klingToken(R"({"iss":"sim-access-key","exp":1767225700})")),
            "token has no numeric nbf");
}

TEST(KlingJwt, Base64UrlDecodes) {
  for (std::string bytes : {"", "a", "ab", "abc", "abcd", "\xff\xfe\xfd?>"}) {
    EXPECT_EQ(base64UrlDecode(klingBase64Url(bytes)), bytes);
  }
  EXPECT_EQ(base64UrlDecode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64UrlDecode("YQ=="), std::nullopt);   // padding
  EXPECT_EQ(base64UrlDecode("a+b/"), std::nullopt);   // standard alphabet
  EXPECT_EQ(base64UrlDecode("abcde"), std::nullopt);  // impossible length
}

TEST(KlingSubmitParse, DefaultsAndAllFields) {
  KlingSubmit submit;
  ASSERT_EQ(parseKlingSubmit(R"({"prompt":"a fox","unknown":{"x":1}})", &submit), std::nullopt);
  EXPECT_EQ(submit.prompt, "a fox");
  EXPECT_EQ(submit.model_name, "kling-v1");
  EXPECT_EQ(submit.aspect_ratio, "16:9");
  EXPECT_EQ(submit.resolution, "1k");
  EXPECT_EQ(submit.n, 1);
  EXPECT_EQ(submit.negative_prompt, "");

  KlingSubmit full;
  ASSERT_EQ(parseKlingSubmit(R"({"model_name":"kling-v2","prompt":"p","negative_prompt":"blur",)"
                             R"("n":9,"aspect_ratio":"21:9","resolution":"2k"})",
                             &full),
            std::nullopt);
  EXPECT_EQ(full.model_name, "kling-v2");
  EXPECT_EQ(full.negative_prompt, "blur");
  EXPECT_EQ(full.n, 9);
  EXPECT_EQ(full.aspect_ratio, "21:9");
  EXPECT_EQ(full.resolution, "2k");

  KlingSubmit nulls;
  EXPECT_EQ(parseKlingSubmit(R"({"prompt":"p","negative_prompt":null,"n":null})", &nulls),
            std::nullopt);
  EXPECT_EQ(nulls.n, 1);
}

TEST(KlingSubmitParse, InvalidBodiesNameTheField) {
  auto why = [](const std::string& body) {
    KlingSubmit submit;
    return parseKlingSubmit(body, &submit).value_or("");
  };
  EXPECT_EQ(why("not json"), "body must be a JSON object");
  EXPECT_EQ(why("[1]"), "body must be a JSON object");
  EXPECT_EQ(why("{}"), "prompt is required");
  EXPECT_EQ(why(R"({"prompt":""})"), "prompt must not be empty");
  EXPECT_EQ(why(R"({"prompt":3})"), "prompt must be a string");
  EXPECT_EQ(why(R"({"prompt":"p","n":0})"), "n must be an integer from 1 to 9");
  EXPECT_EQ(why(R"({"prompt":"p","n":10})"), "n must be an integer from 1 to 9");
  EXPECT_EQ(why(R"({"prompt":"p","n":2.5})"), "n must be an integer from 1 to 9");
  EXPECT_EQ(why(R"({"prompt":"p","n":"2"})"), "n must be an integer from 1 to 9");
  EXPECT_EQ(why(R"({"prompt":"p","aspect_ratio":"5:4"})"),
            "aspect_ratio must be one of 16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, 21:9");
  EXPECT_EQ(why(R"({"prompt":"p","resolution":"4k"})"), "resolution must be 1k or 2k");
  EXPECT_EQ(why(R"({"prompt":"p","model_name":1})"), "model_name must be a string");
  EXPECT_EQ(why(R"({"prompt":"p","model_name":""})"), "model_name must not be empty");
  EXPECT_EQ(why(R"({"prompt":"p","negative_prompt":[]})"), "negative_prompt must be a string");
}

TEST(KlingSubmitParse, PromptLimitCountsCharactersNotBytes) {
  std::string two_byte_chars;
  for (int i = 0; i < 2500; ++i) two_byte_chars += "\xc3\xa9";  // é
  KlingSubmit submit;
  EXPECT_EQ(parseKlingSubmit(R"({"prompt":")" + two_byte_chars + R"("})", &submit), std::nullopt);
  EXPECT_EQ(parseKlingSubmit(R"({"prompt":")" + two_byte_chars + R"(x"})", &submit),
            "prompt is longer than 2500 characters");
}

TEST(KlingImages, SameInputsNameTheSameImages) {
  KlingSubmit a;
  a.prompt = "p";
  KlingSubmit b = a;
  EXPECT_EQ(ImageFactory::imageKey(klingImageParams(a), 0),
            ImageFactory::imageKey(klingImageParams(b), 0));
  EXPECT_NE(ImageFactory::imageKey(klingImageParams(a), 0),
            ImageFactory::imageKey(klingImageParams(a), 1));
  for (auto change : {&KlingSubmit::negative_prompt, &KlingSubmit::model_name,
                      &KlingSubmit::aspect_ratio, &KlingSubmit::resolution}) {
    KlingSubmit other = a;
    other.*change = "other";
    EXPECT_NE(ImageFactory::imageKey(klingImageParams(a), 0),
              ImageFactory::imageKey(klingImageParams(other), 0));
  }
}

TEST(KlingStats, PollsShareOneKey) {
  EXPECT_EQ(KlingApi::statsKey("/kling/v1/images/generations/abc"),
            "/kling/v1/images/generations/{id}");
  EXPECT_EQ(KlingApi::statsKey("/kling/v1/images/generations"), "/kling/v1/images/generations");
  EXPECT_EQ(KlingApi::statsKey("/kling/v1/images/generations/"), "/kling/v1/images/generations/");
  EXPECT_EQ(KlingApi::statsKey("/v1/images/generations"), "/v1/images/generations");
}

}  // namespace
}  // namespace arkroute::sim
