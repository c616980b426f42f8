// The service manager's notification protocol (sd_notify): READY=1 once the gateway serves,
// RELOADING=1 / READY=1 around a config reload, STOPPING=1 on shutdown and WATCHDOG=1 keep-alives.
// Uses libsystemd when the build found it, otherwise a small AF_UNIX datagram sender speaking the
// same protocol. Every call is a no-op when NOTIFY_SOCKET is not set (not started by systemd).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace arkroute::ops {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment once.
  SystemdNotifier();

  bool enabled() const { return !socket_path_.empty(); }
  // The watchdog interval systemd expects keep-alives within; zero when the watchdog is off.
  std::chrono::microseconds watchdogInterval() const { return watchdog_; }

  void ready(std::string_view status = {});
  // RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC, as systemd requires for Type=notify-reload).
  void reloading();
  void stopping();
  void watchdog();
  void status(std::string_view text);
  // Sends one datagram of newline-separated assignments; false when it could not be sent.
  bool send(std::string_view state);

 private:
  std::string socket_path_;
  std::chrono::microseconds watchdog_{0};
};

// CLOCK_MONOTONIC in microseconds.
uint64_t monotonicMicros();

}  // namespace arkroute::ops
