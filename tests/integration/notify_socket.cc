// The fake NOTIFY_SOCKET: bind, poll with a deadline, split into lines.
#include "integration/notify_socket.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace arkroute::testing {

NotifySocket::NotifySocket() {
  char dir[] = "/tmp/arkroute-notify-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  path_ = dir_ + "/notify.sock";
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    throw std::runtime_error("cannot bind the notify socket at " + path_);
  }
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) close(fd_);
  unlink(path_.c_str());
  rmdir(dir_.c_str());
}

std::optional<std::string> NotifySocket::next(std::chrono::milliseconds timeout) {
  pollfd waiting{fd_, POLLIN, 0};
  if (poll(&waiting, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  char buffer[4096];
  ssize_t got = recv(fd_, buffer, sizeof(buffer), 0);
  if (got < 0) return std::nullopt;
  seen_.emplace_back(buffer, static_cast<size_t>(got));
  return seen_.back();
}

std::optional<std::string> NotifySocket::waitFor(const std::string& line,
                                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto datagram = next(left);
    if (!datagram) return std::nullopt;
    if (hasLine(*datagram, line)) return datagram;
  }
}

bool hasLine(const std::string& datagram, const std::string& line) {
  std::istringstream lines(datagram);
  for (std::string each; std::getline(lines, each);) {
    if (each == line) return true;
  }
  return false;
}

}  // namespace arkroute::testing
