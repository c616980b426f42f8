// One large non-blocking readv into an evbuffer (see upstream_socket.h).
#include "proxy/http/upstream_socket.h"

#include <event2/buffer.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <algorithm>

namespace arkroute::http {

size_t readAvailable(int fd, evbuffer* input, size_t limit) {
  int waiting = 0;
  if (fd < 0 || ioctl(fd, FIONREAD, &waiting) != 0 || waiting <= 0) return 0;
  size_t want = std::min(static_cast<size_t>(waiting), limit);
  evbuffer_iovec space[2];
  int count = evbuffer_reserve_space(input, static_cast<ev_ssize_t>(want), space, 2);
  if (count <= 0) return 0;
  iovec vectors[2];
  size_t offered = 0;
  for (int i = 0; i < count; ++i) {
    space[i].iov_len = std::min(space[i].iov_len, want - offered);
    vectors[i] = {space[i].iov_base, space[i].iov_len};
    offered += space[i].iov_len;
  }
  ssize_t got = readv(fd, vectors, count);
  if (got <= 0) return 0;  // nothing committed: the reservation is simply dropped
  size_t left = static_cast<size_t>(got);
  int used = 0;
  for (; used < count && left > 0; ++used) {
    space[used].iov_len = std::min(space[used].iov_len, left);
    left -= space[used].iov_len;
  }
  evbuffer_commit_space(input, space, used);
  return static_cast<size_t>(got);
}

}  // namespace arkroute::http
