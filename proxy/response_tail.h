// ResponseTail: the last bytes of a response body read in pieces (where an answer's `usage` is),
// kept in place: no allocation per response, and a piece larger than the tail replaces it whole.
#pragma once

#include <event2/buffer.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace arkroute {

class ResponseTail {
 public:
  static constexpr size_t kCapacity = 4096;

  // Adds data's bytes (data itself is left as it is).
  void append(evbuffer* data) {
    size_t length = evbuffer_get_length(data);
    total_ += length;
    size_t take = length < kCapacity ? length : kCapacity;
    evbuffer_ptr at;
    if (take == 0 || evbuffer_ptr_set(data, &at, length - take, EVBUFFER_PTR_SET) != 0) return;
    makeRoom(take);
    evbuffer_copyout_from(data, &at, bytes_.data() + size_, take);
    size_ += take;
  }
  std::string_view view() const { return {bytes_.data(), size_}; }
  // The tail is the whole body (it never passed kCapacity).
  bool whole() const { return total_ == size_; }
  void clear() {
    size_ = 0;
    total_ = 0;
  }

 private:
  // Drops the oldest bytes so that `more` fit after the kept ones.
  void makeRoom(size_t more) {
    if (size_ + more <= kCapacity) return;
    size_t keep = kCapacity - more;
    std::memmove(bytes_.data(), bytes_.data() + size_ - keep, keep);
    size_ = keep;
  }

  std::array<char, kCapacity> bytes_;  // the first size_ are the tail
  size_t size_ = 0;
  size_t total_ = 0;  // every byte appended
};

}  // namespace arkroute
