// One stderr line per exception that no request handler was left to answer for.
#include "proxy/internal_failure.h"

#include <exception>
#include <string>

#include "proxy/http/error_line.h"

namespace arkroute {

void reportCurrentException(std::string_view context) {
  http::writeErrorLine("arkroute: internal error in " + std::string(context) + ": " +
                       http::exceptionText(std::current_exception()));
}

}  // namespace arkroute
