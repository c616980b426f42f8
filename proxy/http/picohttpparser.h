// Debian's libh2o-evloop exports picohttpparser's functions but installs no header for them; these
// are its documented declarations (picohttpparser.h, stable since 2014). Each returns the bytes it
// consumed, -1 for a malformed message or -2 for an incomplete one.
#pragma once

#include <cstddef>

extern "C" {
struct phr_header {
  const char* name;
  size_t name_len;
  const char* value;
  size_t value_len;
};
int phr_parse_request(const char* buf, size_t len, const char** method, size_t* method_len,
                      const char** path, size_t* path_len, int* minor_version, phr_header* headers,
                      size_t* num_headers, size_t last_len);
int phr_parse_response(const char* buf, size_t len, int* minor_version, int* status,
                       const char** msg, size_t* msg_len, phr_header* headers, size_t* num_headers,
                       size_t last_len);
int phr_parse_headers(const char* buf, size_t len, phr_header* headers, size_t* num_headers,
                      size_t last_len);
}
