// Describing exceptions and writing single stderr lines.
#include "proxy/http/error_line.h"

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

void writeErrorLine(std::string line) {
  line.push_back('\n');
  ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;  // nothing better to do when stderr is gone
}

}  // namespace arkroute::http
