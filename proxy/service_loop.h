// The main thread of `arkroute serve` once the gateway runs: signals and the service manager.
// SIGTERM/SIGINT drain and stop the gateway (STOPPING=1 first); SIGHUP reloads the config
// (RELOADING=1, then READY=1 whether the new config was taken or rejected); READY=1 is sent when
// the loop starts (the gateway is listening and its store open by then); WATCHDOG=1 is sent every
// half watchdog interval while every worker loop answers its probe.
#pragma once

#include <event2/event.h>

#include "proxy/config_reloader.h"
#include "proxy/gateway.h"
#include "proxy/ops/systemd_notifier.h"

namespace arkroute {

class ServiceLoop {
 public:
  ServiceLoop(Gateway& gateway, const ConfigReloader& reloader, ops::SystemdNotifier& notifier);
  ~ServiceLoop();
  ServiceLoop(const ServiceLoop&) = delete;
  ServiceLoop& operator=(const ServiceLoop&) = delete;

  // Runs until SIGTERM or SIGINT, then drains the gateway. Returns the process exit code.
  int run();

 private:
  static void onStop(evutil_socket_t signal_number, short, void* arg);
  static void onHangup(evutil_socket_t, short, void* arg);
  static void onWatchdog(evutil_socket_t, short, void* arg);
  void reload();

  Gateway& gateway_;
  const ConfigReloader& reloader_;
  ops::SystemdNotifier& notifier_;
  event_base* base_ = nullptr;
  event* term_ = nullptr;
  event* interrupt_ = nullptr;
  event* hangup_ = nullptr;
  event* watchdog_ = nullptr;
};

}  // namespace arkroute
