// Which headers cross the gateway in each direction, and how upstream failures become client
// errors. Hop-by-hop headers never cross; credentials are replaced by the upstream's key;
// Accept-Encoding is dropped so bodies arrive uncompressed (the cache reads them).
#pragma once

#include "proxy/api_error.h"
#include "proxy/http/headers.h"
#include "proxy/http/upstream.h"

namespace arkroute {

void copyForwardableHeaders(const http::Headers& client_request, http::Headers* upstream_request);
// secret: the gateway's own provider key, masked wherever a provider echoes it in a field.
void copyReturnableHeaders(const http::Headers& upstream_response, http::Headers* client_response,
                           std::string_view secret);
ApiError upstreamFailureError(const http::UpstreamError& error, std::string_view upstream);
// The code of a provider's error answer, as the access log gives it: error.code, else error.type
// (OpenAI's shape), else a top-level "code" given as a string (Seedream's, Kling's); "" when the
// body is not such JSON (or only its end is given: a body over the caller's tail).
std::string providerErrorCode(std::string_view body);

}  // namespace arkroute
