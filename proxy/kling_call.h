// A request to a Kling upstream, behind the same UpstreamCall interface as a proxied one: it
// submits the task (the OpenAI request translated), polls it every poll_interval, downloads the
// finished images (never sending the key to the image host) and hands the generation handler an
// OpenAI Images answer (head, whole body, complete; for stream: true one completed event per
// image), or Kling's refusal as an OpenAI-style error. An edit is a generation with its image as
// Kling's reference image.
// Failures before the task exists are reported like any upstream's (so they are retried); after
// it exists they are final, since a retry would pay for a second task. An exception from the
// call's own steps or the handler's callbacks (a bug) fails this call alone, final, as a kHandler
// error (see UpstreamResponseHandler): the worker's loop and its other requests go on.
#pragma once

#include <event2/dns.h>
#include <event2/event.h>

#include <chrono>
#include <memory>
#include <string>

#include "proxy/http/upstream.h"

namespace arkroute::kling {

struct CallSetup {
  event_base* base = nullptr;
  evdns_base* dns = nullptr;
  http::UpstreamPool* api = nullptr;  // the Kling API's pool
  SSL_CTX* download_tls = nullptr;    // verifies https image hosts
  std::string upstream_name;
  std::string base_path;             // the upstream's base path ("" for Kling's own host)
  bool require_https_images = true;  // an https API's images are fetched over https only
  std::string credentials;           // "ACCESS_KEY:SECRET_KEY"; empty: use the request's header
  std::chrono::milliseconds poll_interval{2'000};
  std::chrono::milliseconds timeout{600'000};  // submit to answer, polling included
  std::chrono::milliseconds connect_timeout{10'000};
};

// request is what would go to an OpenAI-compatible upstream (path, headers, JSON body with the
// upstream's model name). handler gets the callbacks, on base's thread, never from within start.
std::unique_ptr<http::UpstreamCall> startCall(CallSetup setup, http::OutgoingRequest request,
                                              http::UpstreamResponseHandler* handler);

}  // namespace arkroute::kling
