// Signal handling, config reload and sd_notify for a running gateway.
#include "proxy/service_loop.h"

#include <signal.h>

#include <cstring>
#include <sstream>

#include "proxy/http/error_line.h"

namespace arkroute {

ServiceLoop::ServiceLoop(Gateway& gateway, const ConfigReloader& reloader,
                         ops::SystemdNotifier& notifier)
    : gateway_(gateway), reloader_(reloader), notifier_(notifier) {
  base_ = event_base_new();
  term_ = evsignal_new(base_, SIGTERM, &ServiceLoop::onStop, this);
  interrupt_ = evsignal_new(base_, SIGINT, &ServiceLoop::onStop, this);
  hangup_ = evsignal_new(base_, SIGHUP, &ServiceLoop::onHangup, this);
  watchdog_ = event_new(base_, -1, EV_PERSIST, &ServiceLoop::onWatchdog, this);
  event_add(term_, nullptr);
  event_add(interrupt_, nullptr);
  event_add(hangup_, nullptr);
}

ServiceLoop::~ServiceLoop() {
  for (event* e : {term_, interrupt_, hangup_, watchdog_}) event_free(e);
  event_base_free(base_);
}

int ServiceLoop::run() {
  auto interval = notifier_.watchdogInterval();
  if (interval.count() > 0) {
    auto half = interval / 2;
    timeval every{static_cast<time_t>(half.count() / 1'000'000),
                  static_cast<suseconds_t>(half.count() % 1'000'000)};
    event_add(watchdog_, &every);
  }
  notifier_.ready("serving " + gateway_.listenUrl());
  event_base_dispatch(base_);
  notifier_.stopping();
  event_del(watchdog_);
  gateway_.drainAndStop();
  http::writeErrorLine("arkroute: stopped");
  return 0;
}

void ServiceLoop::onStop(evutil_socket_t signal_number, short, void* arg) {
  auto* self = static_cast<ServiceLoop*>(arg);
  http::writeErrorLine(std::string("arkroute: received ") + strsignal(signal_number) +
                       ", draining");
  event_base_loopexit(self->base_, nullptr);
}

void ServiceLoop::onHangup(evutil_socket_t, short, void* arg) {
  static_cast<ServiceLoop*>(arg)->reload();
}

void ServiceLoop::reload() {
  notifier_.reloading();
  http::writeErrorLine("arkroute: received SIGHUP, reloading " + gateway_.config()->source_path);
  std::ostringstream problems;  // each line then goes out whole, never split by another thread's
  auto next = reloader_.load(*gateway_.config(), problems);
  std::istringstream lines(problems.str());
  for (std::string line; std::getline(lines, line);) http::writeErrorLine(line);
  std::string error;
  if (!next) {
    notifier_.ready("reload rejected; serving the previous config");
  } else if (!gateway_.reload(next, &error)) {
    http::writeErrorLine("arkroute: reload rejected: " + error +
                         "; still serving the previous config");
    notifier_.ready("reload rejected; serving the previous config");
  } else {
    http::writeErrorLine("arkroute: reloaded: " + std::to_string(next->models.size()) +
                         " model(s), " + std::to_string(next->upstreams.size()) + " upstream(s)");
    notifier_.ready("serving " + gateway_.listenUrl());
  }
}

void ServiceLoop::onWatchdog(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ServiceLoop*>(arg);
  if (self->gateway_.workersResponsive()) self->notifier_.watchdog();
}

}  // namespace arkroute
