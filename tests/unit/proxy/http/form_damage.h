// Random damage to multipart/form-data bodies, for the property tests of the form parser and of
// edit requests: bytes flipped, structure tokens inserted, ranges deleted, bodies cut short. The
// caller seeds the generator, so a failing round repeats.
#pragma once

#include <iterator>
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

}  // namespace arkroute::fuzz
