// sd_notify through libsystemd (ARKROUTE_HAVE_SYSTEMD) or an equivalent AF_UNIX datagram sender.
#include "proxy/ops/systemd_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#ifdef ARKROUTE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace arkroute::ops {

namespace {

std::string envOr(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

#ifndef ARKROUTE_HAVE_SYSTEMD
// The same datagram sd_notify sends: path sockets and abstract ones ("@name").
bool sendDatagram(const std::string& path, std::string_view state) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path) || (path[0] != '/' && path[0] != '@')) return false;
  std::memcpy(address.sun_path, path.data(), path.size());
  if (path[0] == '@') address.sun_path[0] = '\0';
  socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t sent = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                        reinterpret_cast<sockaddr*>(&address), length);
  close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

// sd_watchdog_enabled's rules: WATCHDOG_USEC > 0, and WATCHDOG_PID (when set) is this process.
uint64_t watchdogFromEnvironment() {
  std::string pid = envOr("WATCHDOG_PID");
  if (!pid.empty() && std::strtol(pid.c_str(), nullptr, 10) != getpid()) return 0;
  return std::strtoull(envOr("WATCHDOG_USEC").c_str(), nullptr, 10);
}
#endif

}  // namespace

uint64_t monotonicMicros() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
}

SystemdNotifier::SystemdNotifier() : socket_path_(envOr("NOTIFY_SOCKET")) {
  uint64_t usec = 0;
#ifdef ARKROUTE_HAVE_SYSTEMD
  if (sd_watchdog_enabled(0, &usec) <= 0) usec = 0;
#else
  usec = watchdogFromEnvironment();
#endif
  watchdog_ = std::chrono::microseconds(usec);
}

bool SystemdNotifier::send(std::string_view state) {
  if (!enabled()) return false;
#ifdef ARKROUTE_HAVE_SYSTEMD
  return sd_notify(0, std::string(state).c_str()) > 0;
#else
  return sendDatagram(socket_path_, state);
#endif
}

void SystemdNotifier::ready(std::string_view status) {
  std::string state = "READY=1";
  if (!status.empty()) state += "\nSTATUS=" + std::string(status);
  send(state);
}

void SystemdNotifier::reloading() {
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonicMicros()));
}

void SystemdNotifier::stopping() {
  send("STOPPING=1");
}

void SystemdNotifier::watchdog() {
  send("WATCHDOG=1");
}

void SystemdNotifier::status(std::string_view text) {
  send("STATUS=" + std::string(text));
}

}  // namespace arkroute::ops
