// Masking of a secret in text and in a body that streams.
#include "proxy/secret_mask.h"

#include <algorithm>

namespace arkroute {

void maskSecret(std::string_view secret, std::string* text) {
  if (secret.empty()) return;
  for (size_t at = text->find(secret); at != std::string::npos; at = text->find(secret, at)) {
    std::fill_n(text->begin() + static_cast<std::ptrdiff_t>(at), secret.size(), '*');
    at += secret.size();
  }
}

evbuffer* SecretMask::pass(evbuffer* data) {
  size_t length = evbuffer_get_length(data);
  size_t before = held_.size();
  held_.resize(before + length);
  evbuffer_remove(data, held_.data() + before, length);
  maskSecret(secret_, &held_);
  size_t keep = secret_.empty() ? 0 : std::min(held_.size(), secret_.size() - 1);
  evbuffer_add(out_, held_.data(), held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out_;
}

evbuffer* SecretMask::finish() {
  evbuffer_add(out_, held_.data(), held_.size());
  held_.clear();
  return out_;
}

}  // namespace arkroute
