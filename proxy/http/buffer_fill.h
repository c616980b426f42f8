// appendFrom: adds what a source writes into memory (a socket's readv, OpenSSL's decryption) to
// the end of an evbuffer; wouldBlock: the errors that mean "later". Shared by SocketStream's plain
// and TLS reads and writes.
#pragma once

#include <event2/buffer.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>

namespace arkroute::http {

// The socket has nothing now (or the call was interrupted): try again on the next event.
inline bool wouldBlock(int error) {
  return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

constexpr size_t kScratchFillBytes = 16 * 1024;  // a request, a small answer, one TLS record

// fill(iovec* vectors, int count) places up to the vectors' total in them, in order, and returns
// the bytes placed, or what the source returned when it placed none (0 or -1 with errno).
// Up to kScratchFillBytes go through a per-thread buffer and are copied into a chain that fits
// them: reserving 16 KiB of chain for a 300-byte request costs a large malloc (and a
// malloc_consolidate), more than copying a few hundred bytes. More go straight into reserved chain
// space. Returns what fill returned; only positive counts are committed. -1 with ENOMEM when the
// buffer cannot grow.
template <typename Fill>
ssize_t appendFrom(evbuffer* buffer, size_t want, Fill fill) {
  if (want <= kScratchFillBytes) {
    static thread_local char scratch[kScratchFillBytes];
    iovec vector{scratch, want};
    ssize_t got = fill(&vector, 1);
    if (got > 0 && evbuffer_add(buffer, scratch, static_cast<size_t>(got)) != 0) {
      errno = ENOMEM;
      return -1;
    }
    return got;
  }
  evbuffer_iovec space[2];
  int count = evbuffer_reserve_space(buffer, static_cast<ev_ssize_t>(want), space, 2);
  if (count <= 0) {
    errno = ENOMEM;
    return -1;
  }
  iovec vectors[2];
  size_t offered = 0;
  for (int i = 0; i < count; ++i) {
    space[i].iov_len = std::min(space[i].iov_len, want - offered);
    vectors[i] = {space[i].iov_base, space[i].iov_len};
    offered += space[i].iov_len;
  }
  ssize_t got = fill(vectors, count);
  if (got <= 0) return got;  // nothing committed: the reservation is simply dropped
  size_t left = static_cast<size_t>(got);
  int used = 0;
  for (; used < count && left > 0; ++used) {
    space[used].iov_len = std::min(space[used].iov_len, left);
    left -= space[used].iov_len;
  }
  evbuffer_commit_space(buffer, space, used);
  return got;
}

}  // namespace arkroute::http
