// Session table: random ids, expiry and a size cap.
#include "proxy/mcp/mcp_sessions.h"

#include <algorithm>
#include <stdexcept>

#include "proxy/http/headers.h"
#include "proxy/http/hex.h"

namespace arkroute::mcp {

McpSessions::McpSessions(std::chrono::milliseconds ttl, size_t max_sessions,
                         std::function<int64_t()> now_ms)
    : ttl_ms_(ttl.count()),
      max_sessions_(std::max<size_t>(1, max_sessions)),
      now_ms_(std::move(now_ms)) {}

std::string McpSessions::newId() {
  auto id = randomHex(16);
  if (!id) throw std::runtime_error("RAND_bytes failed");
  return *id;
}

// The credential, not its spelling: "bearer  k" and "Bearer k" are the same caller (the HTTP API
// reads the header with the same function), so spellings cannot multiply one key's share.
std::string McpSessions::callerDigest(const std::string& authorization) {
  std::string_view token = http::bearerToken(authorization);
  return token.empty() ? std::string() : sha256Hex(token);
}

std::optional<std::string> McpSessions::create(std::string protocol_version,
                                               const std::string& authorization) {
  std::string id = newId();
  std::string caller = callerDigest(authorization);
  std::lock_guard lock(mutex_);
  int64_t now = now_ms_();
  std::erase_if(sessions_, [&](const auto& item) { return expired(item.second, now); });
  dropOwnOldestLocked(caller);
  if (sessions_.size() >= max_sessions_) return std::nullopt;  // never another caller's session
  sessions_[id] = Entry{SessionInfo{std::move(protocol_version), std::move(caller)}, now};
  return id;
}

// A caller at its share, or holding sessions in a full table, ends its own least recently used
// one to open another. Callers without a credential (an open gateway) cannot be told apart: they
// are one caller, whose share is the whole table.
void McpSessions::dropOwnOldestLocked(const std::string& caller) {
  size_t share = caller.empty() ? max_sessions_ : std::min(max_sessions_, kMaxSessionsPerCaller);
  auto oldest = sessions_.end();
  size_t count = 0;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.info.caller != caller) continue;
    ++count;
    if (oldest == sessions_.end() || it->second.last_used_ms < oldest->second.last_used_ms) {
      oldest = it;
    }
  }
  if (count > 0 && (count >= share || sessions_.size() >= max_sessions_)) sessions_.erase(oldest);
}

std::optional<SessionInfo> McpSessions::touch(const std::string& id,
                                              const std::string& authorization) {
  std::string caller = callerDigest(authorization);
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  int64_t now = now_ms_();
  if (expired(it->second, now)) {
    sessions_.erase(it);
    return std::nullopt;
  }
  if (it->second.info.caller != caller) return std::nullopt;
  it->second.last_used_ms = now;
  return it->second.info;
}

// A session with a call running is in use, however long the call takes: it is not "unused".
bool McpSessions::expired(const Entry& entry, int64_t now) const {
  return entry.calls == 0 && now - entry.last_used_ms >= ttl_ms_;
}

void McpSessions::beginCall(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(id); it != sessions_.end()) ++it->second.calls;
}

void McpSessions::endCall(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;  // ended (DELETE) or dropped for room meanwhile
  if (it->second.calls > 0) --it->second.calls;
  it->second.last_used_ms = now_ms_();  // its ttl runs from the call's end
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
