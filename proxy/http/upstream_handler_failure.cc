// Describing and reporting exceptions thrown by upstream response handlers.
#include "proxy/http/upstream_handler_failure.h"

#include <unistd.h>

namespace arkroute::http {

std::string exceptionText(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

void reportHandlerFailure(std::string_view upstream, std::string_view context,
                          std::string_view what) {
  std::string line = "arkroute: ";
  if (!upstream.empty()) line.append("upstream '").append(upstream).append("': ");
  line.append("a response handler failed (").append(context).append("): ").append(what);
  line.push_back('\n');
  ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;  // nothing better to do when stderr is gone
}

}  // namespace arkroute::http
