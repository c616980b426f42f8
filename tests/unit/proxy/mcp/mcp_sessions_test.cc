// MCP session table: random ids, credential binding, expiry and the size cap (injected clock).
#include "proxy/mcp/mcp_sessions.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace arkroute::mcp {
namespace {

using namespace std::chrono_literals;

struct Clock {
  int64_t now = 1'000'000;
  std::function<int64_t()> fn() {
    return [this] { return now; };
  }
};

TEST(McpSessions, IdsAre32HexCharactersAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = McpSessions::newId();
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(McpSessions, CreatedSessionIsFoundWithItsVersion) {
  Clock clock;
  McpSessions sessions(1h, 10, clock.fn());
  std::string id = *sessions.create("2025-06-18", "Bearer k1");
  auto info = sessions.touch(id, "Bearer k1");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->protocol_version, "2025-06-18");
  EXPECT_FALSE(sessions.touch("0123", "Bearer k1"));
}

TEST(McpSessions, AnotherCredentialCannotUseOrEndTheSession) {
  Clock clock;
  McpSessions sessions(1h, 10, clock.fn());
  std::string id = *sessions.create("2025-06-18", "Bearer k1");
  EXPECT_FALSE(sessions.touch(id, "Bearer k2"));
  EXPECT_FALSE(sessions.touch(id, ""));
  EXPECT_FALSE(sessions.remove(id, "Bearer k2"));
  EXPECT_TRUE(sessions.touch(id, "Bearer k1"));
}

TEST(McpSessions, UnusedSessionExpiresAfterTtlAndUseRefreshesIt) {
  Clock clock;
  McpSessions sessions(60s, 10, clock.fn());
  std::string id = *sessions.create("2025-03-26", "");
  clock.now += 59'000;
  EXPECT_TRUE(sessions.touch(id, ""));  // refreshed
  clock.now += 59'000;
  EXPECT_TRUE(sessions.touch(id, ""));
  clock.now += 60'000;
  EXPECT_FALSE(sessions.touch(id, ""));
  EXPECT_EQ(sessions.size(), 0u);
}

// A generation can outlast the ttl: a session with a call running is in use, and its ttl counts
// from the end of the call.
TEST(McpSessions, ASessionWithACallRunningNeverExpiresAndItsTtlRunsFromTheCallsEnd) {
  Clock clock;
  McpSessions sessions(3s, 10, clock.fn());
  std::string id = *sessions.create("2025-11-25", "Bearer k");
  sessions.beginCall(id);
  clock.now += 6'000;                             // a 6 s generation
  sessions.create("2025-11-25", "Bearer other");  // sweeps expired sessions: not this one
  sessions.endCall(id);
  clock.now += 2'000;
  EXPECT_TRUE(sessions.touch(id, "Bearer k")) << "2 s after the call ended, within the ttl";
  clock.now += 3'000;
  EXPECT_FALSE(sessions.touch(id, "Bearer k")) << "unused for the ttl after its last use";
  sessions.endCall(id);  // a call that ends after its session did is harmless
}

TEST(McpSessions, AboveTheCapTheLeastRecentlyUsedIsDropped) {
  Clock clock;
  McpSessions sessions(1h, 3, clock.fn());
  std::string a = *sessions.create("v", "Bearer k");
  clock.now += 1;
  std::string b = *sessions.create("v", "Bearer k");
  clock.now += 1;
  std::string c = *sessions.create("v", "Bearer k");
  clock.now += 1;
  ASSERT_TRUE(sessions.touch(a, "Bearer k"));  // b is now the least recently used
  clock.now += 1;
  std::string d = *sessions.create("v", "Bearer k");
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_TRUE(sessions.touch(a, "Bearer k"));
  EXPECT_FALSE(sessions.touch(b, "Bearer k"));
  EXPECT_TRUE(sessions.touch(c, "Bearer k"));
  EXPECT_TRUE(sessions.touch(d, "Bearer k"));
}

// One caller opening sessions in a loop ends only its own: at its share its oldest goes, and a
// table full of others' live sessions refuses it rather than end one of theirs.
TEST(McpSessions, NoCallerCanEndAnothersSession) {
  Clock clock;
  McpSessions sessions(1h, 40, clock.fn());
  std::string victim = *sessions.create("v", "Bearer victim");
  std::vector<std::string> mine;
  for (int i = 0; i < 100; ++i, clock.now += 1) {
    auto id = sessions.create("v", "Bearer greedy");
    ASSERT_TRUE(id.has_value()) << i;
    mine.push_back(*id);
  }
  EXPECT_EQ(sessions.size(), 1 + McpSessions::kMaxSessionsPerCaller);
  EXPECT_TRUE(sessions.touch(victim, "Bearer victim"));
  EXPECT_FALSE(sessions.touch(mine.front(), "Bearer greedy")) << "its own oldest ended";
  EXPECT_TRUE(sessions.touch(mine.back(), "Bearer greedy"));
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(sessions.create("v", "Bearer k" + std::to_string(i)));
  EXPECT_EQ(sessions.size(), 40u);
  EXPECT_FALSE(sessions.create("v", "Bearer one-more").has_value()) << "full: refused";
  EXPECT_TRUE(sessions.touch(victim, "Bearer victim"));
  // Another spelling of the same key is the same caller: it ends its own oldest, not a place.
  EXPECT_TRUE(sessions.create("v", "bearer   greedy ").has_value());
  EXPECT_FALSE(sessions.touch(mine[68], "Bearer greedy")) << "its oldest live one";
  EXPECT_TRUE(sessions.touch(victim, "Bearer victim"));
}

// Callers without a credential are one caller: in a full table a new one ends their own oldest
// (an open gateway's agents keep working), never a keyed caller's.
TEST(McpSessions, CallersWithoutACredentialShareTheTableAndEndOnlyTheirOwn) {
  Clock clock;
  McpSessions sessions(1h, 3, clock.fn());
  std::string keyed = *sessions.create("v", "Bearer k");
  clock.now += 1;
  std::string first = *sessions.create("v", "");
  clock.now += 1;
  std::string second = *sessions.create("v", "");
  clock.now += 1;
  auto third = sessions.create("v", "");
  ASSERT_TRUE(third.has_value());
  EXPECT_FALSE(sessions.touch(first, "")) << "their own oldest ended";
  EXPECT_TRUE(sessions.touch(second, ""));
  EXPECT_TRUE(sessions.touch(second, "Basic abc")) << "another scheme is no bearer credential";
  EXPECT_TRUE(sessions.touch(keyed, "Bearer k"));
  EXPECT_TRUE(sessions.touch(keyed, "bearer  k\t")) << "read as the HTTP API reads it";
}

TEST(McpSessions, RemoveEndsTheSessionOnce) {
  Clock clock;
  McpSessions sessions(1h, 10, clock.fn());
  std::string id = *sessions.create("v", "Bearer k");
  EXPECT_TRUE(sessions.remove(id, "Bearer k"));
  EXPECT_FALSE(sessions.remove(id, "Bearer k"));
  EXPECT_FALSE(sessions.touch(id, "Bearer k"));
}

}  // namespace
}  // namespace arkroute::mcp
