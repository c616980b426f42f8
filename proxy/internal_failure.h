// Reporting an exception that escaped the gateway's own code (a bug) where nobody else can receive
// it: a pool's job, a task on a worker's loop. The thread carries on; the line says what failed.
#pragma once

#include <string_view>

namespace arkroute {

// From a catch block: "arkroute: internal error in <context>: <what()>" on stderr, in one write.
void reportCurrentException(std::string_view context);

}  // namespace arkroute
