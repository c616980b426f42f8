// A fake service manager's notification socket for integration tests: an AF_UNIX SOCK_DGRAM
// socket bound at a temp path (pass path() as NOTIFY_SOCKET) that collects every datagram.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace arkroute::testing {

class NotifySocket {
 public:
  NotifySocket();  // binds at a fresh path under /tmp
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  // The next datagram, waiting up to timeout; nullopt when none came.
  std::optional<std::string> next(std::chrono::milliseconds timeout);
  // Reads datagrams until one contains line (e.g. "READY=1"); returns it, or nullopt after
  // timeout. Every datagram read on the way is kept in seen().
  std::optional<std::string> waitFor(const std::string& line, std::chrono::milliseconds timeout);
  const std::vector<std::string>& seen() const { return seen_; }

 private:
  int fd_ = -1;
  std::string dir_;
  std::string path_;
  std::vector<std::string> seen_;
};

// True when the newline-separated datagram has exactly this line.
bool hasLine(const std::string& datagram, const std::string& line);

}  // namespace arkroute::testing
