// Random damage to multipart/form-data bodies, for the property tests of the form parser and of
// edit requests: bytes flipped, structure tokens inserted, ranges deleted, bodies cut short (the
// caller seeds the generator, so a failing round repeats); and exact-size copies to parse them in.
#pragma once

#include <algorithm>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace arkroute::fuzz {

// body with one to four random edits; inserted pieces are the form's own tokens (CRLF, dashes,
// the boundary, header names), so damage lands near the bytes that matter.
inline std::string damageForm(std::string body, std::string_view boundary, std::mt19937& random) {
  const std::string pieces[] = {"\r\n",
                                "\r",
                                "\n",
                                "--",
                                std::string(boundary),
                                "\"",
                                ";",
                                ":",
                                "Content-Disposition: form-data; name=",
                                "filename=",
                                std::string(1, '\0'),
                                "Content-Type: x\r\n",
                                " "};
  int edits = 1 + static_cast<int>(random() % 4);
  for (int i = 0; i < edits && !body.empty(); ++i) {
    size_t at = random() % (body.size() + 1);
    switch (random() % 4) {
      case 0:
        if (at < body.size()) body[at] = static_cast<char>(random() % 256);
        break;
      case 1:
        body.insert(at, pieces[random() % std::size(pieces)]);
        break;
      case 2:
        body.erase(at, random() % 12);
        break;
      default:
        body.resize(at);
        break;
    }
  }
  return body;
}

// A copy of text in a heap buffer of exactly its size: under AddressSanitizer, a parser that reads
// one byte past the end of the body fails the test.
class ExactCopy {
 public:
  explicit ExactCopy(std::string_view text) : bytes_(new char[text.size()]), size_(text.size()) {
    std::copy(text.begin(), text.end(), bytes_.get());
  }
  std::string_view view() const { return {bytes_.get(), size_}; }

 private:
  std::unique_ptr<char[]> bytes_;
  size_t size_;
};

}  // namespace arkroute::fuzz
