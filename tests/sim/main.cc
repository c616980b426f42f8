// arkroute-sim's command line: flags (among them the keys of the Kling mode, whose API answers
// under /kling), start, the "listening on" line, clean exit on signals.
#include <event2/event.h>
#include <malloc.h>
#include <signal.h>

#include <cstring>
#include <iostream>
#include <string>

#include "tests/sim/sim_server.h"

namespace {

constexpr const char* kUsage =
    "usage: arkroute-sim --listen HOST:PORT [--latency-ms N] [--jitter-ms N] [--payload-bytes N]\n"
    "                    [--tls-cert FILE --tls-key FILE]\n"
    "                    [--kling-access-key A] [--kling-secret-key S]\n"
    "OpenAI Images API under /v1; Kling's task API (JWT auth: HS256 signed with S, iss = A;\n"
    "defaults sim-access-key / sim-secret-key) under /kling/v1/images/generations.\n";

bool parseFlags(int argc, char** argv, arkroute::sim::SimOptions* options) {
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return false;
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--listen") {
      size_t colon = value.rfind(':');
      if (colon == std::string::npos) return false;
      options->host = value.substr(0, colon);
      if (options->host.size() > 2 && options->host.front() == '[' && options->host.back() == ']') {
        options->host = options->host.substr(1, options->host.size() - 2);  // [::1] -> ::1
      }
      options->port = static_cast<uint16_t>(std::stoi(value.substr(colon + 1)));
    } else if (flag == "--latency-ms") {
      options->latency_ms = std::stoi(value);
    } else if (flag == "--jitter-ms") {
      options->jitter_ms = std::stoi(value);
    } else if (flag == "--payload-bytes") {
      options->payload_bytes = std::stoul(value);
    } else if (flag == "--tls-cert") {
      options->tls_cert = value;
    } else if (flag == "--tls-key") {
      options->tls_key = value;
    } else if (flag == "--kling-access-key") {
      options->kling.access_key = value;
    } else if (flag == "--kling-secret-key") {
      options->kling.secret_key = value;
    } else {
      return false;
    }
  }
  return options->tls_cert.empty() == options->tls_key.empty();
}

// Each image answer builds a few MB of fresh buffers (the JSON, then evhttp's copy). With glibc's
// defaults those come from memory the heap had just given back, so every answer page-faulted its
// buffers in again: ~1.3 ms of a ~2.3 ms large answer, and more or less of it depending on how fast
// the client (a gateway under benchmark) drained the previous one. Keeping freed memory in the
// process makes the simulator's cost per answer steady (and its large answers ~2x faster). The heap
// is never given back: at 64 concurrent large answers a burst frees more than any fixed threshold
// (128 MiB was hit), and once trimmed every answer faulted its pages in again, a slow state that
// kept itself going (~95 instead of ~1,100 answers per second, direct from wrk).
void keepFreedMemory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // blocks below 32 MiB come from the heap...
  mallopt(M_TRIM_THRESHOLD, -1);        // ...which is never trimmed (the peak stays mapped)
}

void onSignal(evutil_socket_t, short, void* base) {
  event_base_loopbreak(static_cast<event_base*>(base));
}

}  // namespace

int main(int argc, char** argv) {
  arkroute::sim::SimOptions options;
  bool ok = false;
  try {
    ok = parseFlags(argc, argv, &options);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok) {
    std::cerr << kUsage;
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  keepFreedMemory();
  event_base* base = event_base_new();
  std::string error;
  {
    arkroute::sim::SimServer server(base, options);
    if (!server.start(&error)) {
      std::cerr << "arkroute-sim: " << error << "\n";
      return 1;
    }
    std::cout << "arkroute-sim listening on " << server.url() << std::endl;
    event* term = evsignal_new(base, SIGTERM, onSignal, base);
    event* interrupt = evsignal_new(base, SIGINT, onSignal, base);
    event_add(term, nullptr);
    event_add(interrupt, nullptr);
    event_base_dispatch(base);
    event_free(term);
    event_free(interrupt);
  }
  event_base_free(base);
  return 0;
}
