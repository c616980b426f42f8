// What the upstream client does when a response handler throws (a bug in the handler, such as a
// library call that throws on a provider's answer nothing checked): the exception becomes the
// call's kHandler error, or, when no callback is left to tell, a line on stderr. One request's bug
// must not end the worker's loop and every request in flight on it.
#pragma once

#include <string_view>

namespace arkroute::http {

// "arkroute: upstream 'name': a response handler failed (context): what" on stderr; without the
// upstream part when upstream is empty.
void reportHandlerFailure(std::string_view upstream, std::string_view context,
                          std::string_view what);

}  // namespace arkroute::http
