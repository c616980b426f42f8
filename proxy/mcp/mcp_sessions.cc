// Session table: random ids, expiry and a size cap.
#include "proxy/mcp/mcp_sessions.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace arkroute::mcp {

namespace {

std::string toHex(const unsigned char* bytes, size_t length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xF]);
  }
  return out;
}

}  // namespace

McpSessions::McpSessions(std::chrono::milliseconds ttl, size_t max_sessions,
                         std::function<int64_t()> now_ms)
    : ttl_ms_(ttl.count()),
      max_sessions_(std::max<size_t>(1, max_sessions)),
      now_ms_(std::move(now_ms)) {}

std::string McpSessions::newId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return toHex(bytes, sizeof bytes);
}

std::string McpSessions::callerDigest(const std::string& authorization) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(authorization.data(), authorization.size(), digest, &length, EVP_sha256(), nullptr);
  return toHex(digest, length);
}

std::string McpSessions::create(std::string protocol_version, const std::string& authorization) {
  std::string id = newId();
  std::string caller = callerDigest(authorization);
  std::lock_guard lock(mutex_);
  int64_t now = now_ms_();
  evictLocked(now);
  sessions_[id] = Entry{SessionInfo{std::move(protocol_version), std::move(caller)}, now};
  return id;
}

void McpSessions::evictLocked(int64_t now) {
  std::erase_if(sessions_,
                [&](const auto& item) { return now - item.second.last_used_ms >= ttl_ms_; });
  while (sessions_.size() >= max_sessions_) {
    auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.last_used_ms < b.second.last_used_ms; });
    sessions_.erase(oldest);
  }
}

std::optional<SessionInfo> McpSessions::touch(const std::string& id,
                                              const std::string& authorization) {
  std::string caller = callerDigest(authorization);
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  int64_t now = now_ms_();
  if (now - it->second.last_used_ms >= ttl_ms_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  if (it->second.info.caller != caller) return std::nullopt;
  it->second.last_used_ms = now;
  return it->second.info;
}

bool McpSessions::remove(const std::string& id, const std::string& authorization) {
  if (!touch(id, authorization)) return false;
  std::lock_guard lock(mutex_);
  return sessions_.erase(id) > 0;
}

size_t McpSessions::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace arkroute::mcp
