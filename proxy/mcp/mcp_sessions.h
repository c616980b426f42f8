// MCP sessions for the Streamable HTTP endpoint: ids handed out on initialize (16 random bytes
// from OpenSSL's RAND_bytes, as 32 hex characters), each remembering the negotiated protocol
// version and a digest of the caller's credential (a session is only usable with the key that
// opened it). Shared by every worker thread (a client's requests may land on any worker), so every
// method is thread-safe. Sessions unused for `ttl` expire; a credential holds at most 32 (its
// least recently used ends); a full table (`max_sessions`) refuses callers holding none of its
// sessions. Time comes from an injected clock (milliseconds).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace arkroute::mcp {

struct SessionInfo {
  std::string protocol_version;
  std::string caller;  // SHA-256 hex of the credential in Authorization; "" when none
};

class McpSessions {
 public:
  McpSessions(std::chrono::milliseconds ttl, size_t max_sessions, std::function<int64_t()> now_ms);

  // Opens a session and returns its id. A caller (credential) holds at most
  // kMaxSessionsPerCaller (callers without one, together, the whole table): past that, or in a
  // full table, its own least recently used one ends. nullopt when the table is full of other
  // callers' live sessions: one caller can never end another's.
  std::optional<std::string> create(std::string protocol_version, const std::string& authorization);
  static constexpr size_t kMaxSessionsPerCaller = 32;
  // The session's facts, refreshing its last use; nullopt when unknown, expired, or opened with
  // another credential.
  std::optional<SessionInfo> touch(const std::string& id, const std::string& authorization);
  // A tools/call of this session starts, and ends: a session never expires while one runs, and its
  // ttl counts from the end of its last call (a generation can outlast the ttl).
  void beginCall(const std::string& id);
  void endCall(const std::string& id);
  // Ends a session; false when there was none (or it belongs to another credential).
  bool remove(const std::string& id, const std::string& authorization);
  size_t size() const;

  static std::string newId();  // 32 lowercase hex characters
  static std::string callerDigest(const std::string& authorization);

 private:
  struct Entry {
    SessionInfo info;
    int64_t last_used_ms = 0;
    int calls = 0;  // tools/call requests running
  };
  bool expired(const Entry& entry, int64_t now) const;
  void dropOwnOldestLocked(const std::string& caller);

  const int64_t ttl_ms_;
  const size_t max_sessions_;
  std::function<int64_t()> now_ms_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> sessions_;
};

}  // namespace arkroute::mcp
