// One stderr line per exception that no request handler was left to answer for.
#include "proxy/internal_failure.h"

#include <unistd.h>

#include <exception>
#include <string>

#include "proxy/http/upstream_handler_failure.h"

namespace arkroute {

void reportCurrentException(std::string_view context) {
  std::string line = "arkroute: internal error in " + std::string(context) + ": " +
                     http::exceptionText(std::current_exception()) + "\n";
  ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;  // nothing better to do when stderr is gone
}

}  // namespace arkroute
