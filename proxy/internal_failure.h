// Reporting an exception that escaped the gateway's own code (a bug) where nobody else can receive
// it: a pool's job, a task on a worker's loop. The thread carries on; the line says what failed.
// And running a step of a request's handling so that what it throws fails that request alone.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "proxy/http/error_line.h"

namespace arkroute {

// From a catch block: "arkroute: internal error in <context>: <what()>" on stderr, in one write.
void reportCurrentException(std::string_view context);

// Runs step. Should it throw (a bug), if_failed(what) runs instead, so that whoever waits on the
// step hears back (a request answers 500); should that throw too, it is reported on stderr with
// context. Nothing leaves: a step the event loop started cannot end the loop.
template <typename Step, typename IfFailed>
void runGuarded(Step&& step, IfFailed&& if_failed, std::string_view context) noexcept {
  std::string what;
  try {
    step();
    return;
  } catch (...) {
    what = http::exceptionText(std::current_exception());
  }
  try {
    if_failed(what);
  } catch (...) {
    reportCurrentException(context);
  }
}

}  // namespace arkroute
