// Reporting exceptions thrown by upstream response handlers that no callback can receive.
#include "proxy/http/upstream_handler_failure.h"

#include <string>

#include "proxy/http/error_line.h"

namespace arkroute::http {

void reportHandlerFailure(std::string_view upstream, std::string_view context,
                          std::string_view what) {
  std::string line = "arkroute: ";
  if (!upstream.empty()) line.append("upstream '").append(upstream).append("': ");
  line.append("a response handler failed (").append(context).append("): ").append(what);
  writeErrorLine(std::move(line));
}

}  // namespace arkroute::http
