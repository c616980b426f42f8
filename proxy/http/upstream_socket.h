// Socket helpers for plain upstream connections. libevent 2.1 reads at most 4 KiB per read event
// (EVBUFFER_MAX_READ in buffer.c), so a 1.5 MB image body would take ~375 loop iterations and
// handler calls; readAvailable() tops the input buffer up with one large readv instead.
#pragma once

#include <cstddef>

struct evbuffer;

namespace arkroute::http {

// Reads what the socket already holds (up to limit bytes) into input with one readv, without
// blocking. Returns the bytes read; 0 when nothing was waiting. EOF and errors are left for the
// bufferevent's own next read to report.
size_t readAvailable(int fd, evbuffer* input, size_t limit);

}  // namespace arkroute::http
