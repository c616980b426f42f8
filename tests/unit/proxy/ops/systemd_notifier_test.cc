// Unit tests for SystemdNotifier over a real AF_UNIX datagram socket standing in for the service
// manager: silence without NOTIFY_SOCKET, the exact datagrams, abstract socket names and the
// watchdog interval rules (WATCHDOG_USEC, WATCHDOG_PID).
#include "proxy/ops/systemd_notifier.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

namespace arkroute::ops {
namespace {

// A bound datagram socket: a path one, or an abstract one when abstract_name is given.
class Listener {
 public:
  explicit Listener(const std::string& abstract_name = "") {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socklen_t length = sizeof(address);
    if (abstract_name.empty()) {
      name_ = "/tmp/arkroute-notifier-" + std::to_string(getpid()) + ".sock";
      unlink(name_.c_str());
      std::strncpy(address.sun_path, name_.c_str(), sizeof(address.sun_path) - 1);
    } else {
      name_ = "@" + abstract_name;
      std::memcpy(address.sun_path + 1, abstract_name.data(), abstract_name.size());
      length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size());
    }
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
  }
  ~Listener() {
    close(fd_);
    if (name_[0] == '/') unlink(name_.c_str());
  }
  const std::string& name() const { return name_; }
  std::optional<std::string> next(int timeout_ms = 1000) {
    pollfd waiting{fd_, POLLIN, 0};
    if (poll(&waiting, 1, timeout_ms) <= 0) return std::nullopt;
    char buffer[1024];
    ssize_t got = recv(fd_, buffer, sizeof(buffer), 0);
    if (got < 0) return std::nullopt;
    return std::string(buffer, static_cast<size_t>(got));
  }

 private:
  int fd_ = -1;
  std::string name_;
};

class NotifierEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
  }
  void TearDown() override { SetUp(); }
};

TEST_F(NotifierEnv, WithoutNotifySocketNothingIsSent) {
  SystemdNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_FALSE(notifier.send("READY=1"));
  EXPECT_EQ(notifier.watchdogInterval().count(), 0);
}

TEST_F(NotifierEnv, SendsTheProtocolDatagrams) {
  Listener listener;
  setenv("NOTIFY_SOCKET", listener.name().c_str(), 1);
  SystemdNotifier notifier;
  ASSERT_TRUE(notifier.enabled());
  notifier.ready("serving http://127.0.0.1:8080");
  EXPECT_EQ(listener.next(), "READY=1\nSTATUS=serving http://127.0.0.1:8080");
  uint64_t before = monotonicMicros();
  notifier.reloading();
  auto reloading = listener.next();
  ASSERT_TRUE(reloading);
  ASSERT_TRUE(reloading->starts_with("RELOADING=1\nMONOTONIC_USEC="));
  uint64_t stamp = std::stoull(reloading->substr(reloading->find('=', 12) + 1));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, monotonicMicros());
  notifier.watchdog();
  EXPECT_EQ(listener.next(), "WATCHDOG=1");
  notifier.stopping();
  EXPECT_EQ(listener.next(), "STOPPING=1");
}

TEST_F(NotifierEnv, AbstractSocketNames) {
  Listener listener("arkroute-notifier-test-" + std::to_string(getpid()));
  setenv("NOTIFY_SOCKET", listener.name().c_str(), 1);
  SystemdNotifier notifier;
  notifier.ready();
  EXPECT_EQ(listener.next(), "READY=1");
}

TEST_F(NotifierEnv, WatchdogIntervalFollowsTheEnvironment) {
  setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(SystemdNotifier().watchdogInterval(), std::chrono::seconds(30));
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(SystemdNotifier().watchdogInterval(), std::chrono::seconds(30));
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(SystemdNotifier().watchdogInterval().count(), 0) << "meant for another process";
}

}  // namespace
}  // namespace arkroute::ops
