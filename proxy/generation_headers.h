// Which headers cross the gateway in each direction, and how upstream failures become client
// errors. Hop-by-hop headers never cross; credentials are replaced by the upstream's key;
// Accept-Encoding is dropped so bodies arrive uncompressed (the cache reads them).
#pragma once

#include "proxy/api_error.h"
#include "proxy/http/headers.h"
#include "proxy/http/upstream.h"

namespace arkroute {

void copyForwardableHeaders(const http::Headers& client_request, http::Headers* upstream_request);
void copyReturnableHeaders(const http::Headers& upstream_response, http::Headers* client_response);
ApiError upstreamFailureError(const http::UpstreamError& error, std::string_view upstream);

}  // namespace arkroute
