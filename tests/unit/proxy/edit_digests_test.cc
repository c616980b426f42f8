// EditDigests: an edit's files hashed a slice at a time give the one-shot SHA-256 of each file,
// and no step hashes more than a slice.
#include "proxy/edit_digests.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <string>

namespace arkroute {
namespace {

EditDigests::Sha256 oneShot(const std::string& bytes) {
  EditDigests::Sha256 digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

std::string filled(size_t length, char seed) {
  std::string bytes(length, '\0');
  for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<char>(seed + i * 31 + (i >> 12));
  return bytes;
}

TEST(EditDigests, SlicesGiveEachFilesWholeDigest) {
  constexpr size_t kSlice = EditDigests::kSliceBytes;
  const std::vector<std::string> files = {filled(0, 'a'),          filled(1, 'b'),
                                          filled(kSlice - 1, 'c'), filled(kSlice, 'd'),
                                          filled(kSlice + 1, 'e'), filled(3 * kSlice + 5, 'f')};
  EditDigests digests({files.begin(), files.end()});
  size_t total = 0;
  for (const std::string& file : files) total += file.size();
  size_t steps = 1;
  while (!digests.step()) ++steps;
  EXPECT_EQ(steps, (total + kSlice - 1) / kSlice) << "every step but the last hashes a slice";
  ASSERT_EQ(digests.digests().size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(digests.digests()[i], oneShot(files[i])) << "file " << i;
  }
}

TEST(EditDigests, NoFilesIsDoneAtOnce) {
  EditDigests digests({});
  EXPECT_TRUE(digests.step());
  EXPECT_TRUE(digests.digests().empty());
}

}  // namespace
}  // namespace arkroute
