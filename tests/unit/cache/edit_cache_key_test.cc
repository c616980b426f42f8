// CacheKey::makeEdit: the key of a multipart edit. Part order and delivery-only fields do not
// split it, nor does a file's field name being "image" or "image[]"; any byte of a file, its
// Content-Type, a text field, the order of image[] files, the upstream, the model or the tenant
// does. Files enter the text as their SHA-256, never whole.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <vector>

#include "cache/cache_key.h"

namespace arkroute::cache {
namespace {

const std::vector<EditFormPart> kEdit = {
    {"model", false, "", "gpt-image-1"},
    {"prompt", false, "", "add a red hat"},
    {"image[]", true, "image/png", "first image bytes"},
    {"image[]", true, "image/png", "second image bytes"},
    {"size", false, "", "1024x1024"},
};

std::string editHex(const std::vector<EditFormPart>& parts, std::string_view upstream = "sim",
                    std::string_view model = "gpt-image-1", std::string_view tenant = "") {
  return CacheKey::makeEdit(upstream, model, parts, tenant).hex();
}

std::vector<EditFormPart> with(std::vector<EditFormPart> parts, const EditFormPart& extra) {
  parts.push_back(extra);
  return parts;
}

TEST(EditCacheKey, PartOrderAndDeliveryFieldsDoNotSplitTheKey) {
  const std::string base = editHex(kEdit);
  std::vector<EditFormPart> reordered = {kEdit[4], kEdit[2], kEdit[1], kEdit[3], kEdit[0]};
  EXPECT_EQ(editHex(reordered), base);
  for (const char* field :
       {"user", "safety_identifier", "stream", "partial_images", "response_format"}) {
    EXPECT_EQ(editHex(with(kEdit, {field, false, "", "b64_json"})), base) << field;
  }
  // The client's model name is replaced by the upstream model, which is a key input of its own.
  std::vector<EditFormPart> renamed = kEdit;
  renamed[0].value = "my-alias";
  EXPECT_EQ(editHex(renamed), base);
}

// One file sent as "image" (one SDK) or "image[]" (another) is the same edit; several files keep
// their order whichever name each came under.
TEST(EditCacheKey, ImageAndImageArrayAreOneFieldName) {
  const std::string base = editHex(kEdit);
  std::vector<EditFormPart> named_image = kEdit;
  named_image[2].name = "image";
  named_image[3].name = "image";
  EXPECT_EQ(editHex(named_image), base);
  named_image[3].name = "image[]";
  EXPECT_EQ(editHex(named_image), base) << "mixed names, same files in the same order";
  std::vector<EditFormPart> swapped = named_image;
  std::swap(swapped[2].value, swapped[3].value);
  EXPECT_NE(editHex(swapped), base);
  EXPECT_NE(CacheKey::makeEdit("sim", "gpt-image-1", kEdit, "").canonical().find("file 5:image "),
            std::string::npos);
}

TEST(EditCacheKey, EveryInputThatCanChangeTheImageSplitsTheKey) {
  const std::string base = editHex(kEdit);
  std::vector<std::string> keys = {base};
  auto changed = [&](auto change) {
    std::vector<EditFormPart> parts = kEdit;
    change(parts);
    keys.push_back(editHex(parts));
  };
  changed([](auto& p) { p[2].value = "first image byteS"; });   // one byte of a file
  changed([](auto& p) { p[3].content_type = "image/jpeg"; });   // a file's type
  changed([](auto& p) { p[1].value = "add a blue hat"; });      // a text field
  changed([](auto& p) { std::swap(p[2].value, p[3].value); });  // the order of image[] files
  changed([](auto& p) { p[4].is_file = true; });                // a field sent as a file
  changed([](auto& p) { p.push_back({"mask", true, "image/png", "mask bytes"}); });
  changed([](auto& p) { p.push_back({"quality", false, "", "high"}); });
  changed([](auto& p) { p.pop_back(); });  // a field left out
  keys.push_back(editHex(kEdit, "other-upstream"));
  keys.push_back(editHex(kEdit, "sim", "gpt-image-1-mini"));
  keys.push_back(editHex(kEdit, "sim", "gpt-image-1", "tenant-a"));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end())
      << "two different edits share a key";
}

TEST(EditCacheKey, FilesEnterTheTextAsTheirSha256AndTheDigestIsXxh3OfTheText) {
  const std::vector<EditFormPart> parts = {{"image", true, "image/png", "abc"},
                                           {"prompt", false, "", "x=1\nfile 5:image"}};
  CacheKey key = CacheKey::makeEdit("sim", "gpt-image-1", parts, "");
  const std::string& text = key.canonical();
  EXPECT_EQ(text, std::string(kKeyFormatVersion) +
                      "\nupstream=3:sim\nupstream_model=11:gpt-image-1\ntenant=0:\nedit\n"
                      "file 5:image 9:image/png 3 "
                      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
                      "text 6:prompt 16:x=1\nfile 5:image\n");
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(text.data(), text.size()));
  EXPECT_TRUE(std::equal(key.digest().begin(), key.digest().end(), std::begin(canonical.digest)));
}

TEST(EditCacheKey, AGivenDigestStandsForTheFilesBytes) {
  const std::vector<EditFormPart> hashed = {{"image", true, "image/png", "abc"},
                                            {"prompt", false, "", "p"}};
  // SHA-256("abc"), as a caller that hashed the file itself passes it.
  const std::array<uint8_t, 32> digest = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                          0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                          0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                          0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  std::vector<EditFormPart> given = hashed;
  given[0].sha256 = &digest;
  EXPECT_EQ(CacheKey::makeEdit("sim", "m", given, "").canonical(),
            CacheKey::makeEdit("sim", "m", hashed, "").canonical());
  std::array<uint8_t, 32> other = digest;
  other[31] ^= 1;
  given[0].sha256 = &other;
  EXPECT_NE(CacheKey::makeEdit("sim", "m", given, "").hex(),
            CacheKey::makeEdit("sim", "m", hashed, "").hex());
}

TEST(EditCacheKey, AnEditNeverSharesAKeyWithAGeneration) {
  simdjson::dom::parser parser;
  simdjson::dom::element body = parser.parse(R"({"prompt":"add a red hat"})"_padded);
  const std::vector<EditFormPart> parts = {{"prompt", false, "", "add a red hat"}};
  EXPECT_NE(CacheKey::makeEdit("sim", "gpt-image-1", parts, "").hex(),
            CacheKey::make("sim", "gpt-image-1", body, "").hex());
}

}  // namespace
}  // namespace arkroute::cache
