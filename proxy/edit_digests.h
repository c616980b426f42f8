// The SHA-256 of an edit's files for its cache key, computed a slice at a time: a 50 MiB upload
// takes ~40 ms to hash, and hashed at once it would hold its worker's event loop (every other
// client of that worker) for all of it. The generation handler runs one slice per loop turn.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace arkroute {

class EditDigests {
 public:
  using Sha256 = std::array<uint8_t, 32>;
  static constexpr size_t kSliceBytes = 1u << 20;  // ~1 ms of SHA-256 here

  // files: each file's bytes, in the form's order; they must outlive this object.
  explicit EditDigests(std::vector<std::string_view> files);
  ~EditDigests();
  EditDigests(const EditDigests&) = delete;
  EditDigests& operator=(const EditDigests&) = delete;

  // Hashes up to kSliceBytes more; true once every file is done.
  bool step();
  // Each file's digest, in order, once step() has returned true.
  const std::vector<Sha256>& digests() const { return digests_; }

 private:
  std::vector<std::string_view> files_;
  std::vector<Sha256> digests_;
  EVP_MD_CTX* context_ = nullptr;
  size_t offset_ = 0;  // into files_[digests_.size()]
};

}  // namespace arkroute
