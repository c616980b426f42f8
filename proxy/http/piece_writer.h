// PieceWriter: copies pieces of text one after another into memory sized for them beforehand.
// HTTP heads are sized first, then written once with it (std::string::append was an out-of-line
// call per piece); the caller guarantees the room.
#pragma once

#include <cstring>
#include <string_view>

namespace arkroute::http {

class PieceWriter {
 public:
  explicit PieceWriter(char* at) : at_(at) {}
  PieceWriter& put(std::string_view piece) {
    if (!piece.empty()) std::memcpy(at_, piece.data(), piece.size());
    at_ += piece.size();
    return *this;
  }
  // Where the next piece goes; moved on by writers that fill it themselves (std::to_chars).
  char* at() const { return at_; }
  void moveTo(char* at) { at_ = at; }

 private:
  char* at_;
};

}  // namespace arkroute::http
