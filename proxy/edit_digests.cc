// EditDigests: OpenSSL's incremental SHA-256 (EVP), one file after another.
#include "proxy/edit_digests.h"

#include <openssl/evp.h>

#include <algorithm>

namespace arkroute {

EditDigests::EditDigests(std::vector<std::string_view> files)
    : files_(std::move(files)), context_(EVP_MD_CTX_new()) {
  digests_.reserve(files_.size());
  EVP_DigestInit_ex(context_, EVP_sha256(), nullptr);
}

EditDigests::~EditDigests() {
  EVP_MD_CTX_free(context_);
}

bool EditDigests::step() {
  size_t budget = kSliceBytes;
  while (digests_.size() < files_.size()) {
    std::string_view file = files_[digests_.size()];
    size_t take = std::min(budget, file.size() - offset_);
    EVP_DigestUpdate(context_, file.data() + offset_, take);
    offset_ += take;
    budget -= take;
    if (offset_ < file.size()) return false;  // the slice is spent
    Sha256& digest = digests_.emplace_back();
    EVP_DigestFinal_ex(context_, digest.data(), nullptr);
    EVP_DigestInit_ex(context_, EVP_sha256(), nullptr);
    offset_ = 0;
    if (budget == 0 && digests_.size() < files_.size()) return false;
  }
  return true;
}

}  // namespace arkroute
