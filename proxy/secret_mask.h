// Hides the gateway's own provider key in what a provider sends back: an error answer that
// quotes the key it was given ("Incorrect API key provided: sk-...") would otherwise hand it to the
// client. Each whole occurrence becomes as many '*' (the length, and so Content-Length, stays).
#pragma once

#include <event2/buffer.h>

#include <string>
#include <string_view>

namespace arkroute {

// Replaces every occurrence of secret in text with '*'s; an empty secret changes nothing.
void maskSecret(std::string_view secret, std::string* text);

// The same over a body that arrives in pieces: an occurrence may span two of them, so the last
// secret.size() - 1 bytes are held back until more arrive, or until finish().
class SecretMask {
 public:
  explicit SecretMask(std::string secret) : secret_(std::move(secret)), out_(evbuffer_new()) {}
  ~SecretMask() { evbuffer_free(out_); }
  SecretMask(const SecretMask&) = delete;
  SecretMask& operator=(const SecretMask&) = delete;
  // Takes data's bytes; returns a buffer with those that may go on, masked (the caller empties it).
  evbuffer* pass(evbuffer* data);
  // Returns a buffer with the bytes held back.
  evbuffer* finish();

 private:
  std::string secret_;
  std::string held_;
  evbuffer* out_;
};

}  // namespace arkroute
