// ServerConnection's lingering close (see server_connection.h). Closing a socket whose receive
// queue holds unread bytes makes the kernel send a reset, and a client that is still sending its
// upload (most HTTP libraries read nothing until the whole body is out) then fails with a broken
// connection and never reads the 413 waiting for it. So, once the answer is written, the write
// side is shut (a FIN follows the answer) and whatever the client still sends is read and
// dropped, until it closes its side or a time limit passes, as nginx's lingering_close does.
#include <event2/buffer.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>

#include "proxy/http/server_connection.h"

namespace arkroute::http {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kLingerIdle{5'000};      // without a byte from the client
constexpr milliseconds kLingerTotal{30'000};    // in all
constexpr milliseconds kLingerDraining{2'000};  // in all, while the server drains

}  // namespace

// After a refusal the client may still be sending. After an answer, only bytes the client sent
// meanwhile (a pipelined request when the server began draining) would turn the close into a
// reset; an idle close has none, and the ioctl runs only on connections that close.
bool ServerConnection::shouldLinger() const {
  if (refused_) return true;
  if (evbuffer_get_length(stream_->input()) > 0 || stream_->mayHoldUnreadInput()) return true;
  int unread = 0;
  return ioctl(stream_->fd(), FIONREAD, &unread) == 0 && unread > 0;
}

void ServerConnection::startLingering() {
  lingering_ = true;
  ::shutdown(stream_->fd(), SHUT_WR);
  linger_until_ = Clock::now() + (shared_.accepting ? kLingerTotal : kLingerDraining);
  lingerRead();
  stream_->enableRead();
}

// Drops what arrived; each arrival gives the client another kLingerIdle, within the total.
void ServerConnection::lingerRead() {
  evbuffer_drain(stream_->input(), evbuffer_get_length(stream_->input()));
  stream_->inputConsumed();
  armLingerTimer();
}

void ServerConnection::armLingerTimer() {
  auto left = std::chrono::duration_cast<milliseconds>(linger_until_ - Clock::now());
  timer_.arm(std::clamp(left, milliseconds(1), kLingerIdle));
}

// The server is draining: a connection lingering now gets at most kLingerDraining more.
void ServerConnection::shortenLinger() {
  linger_until_ = std::min(linger_until_, Clock::now() + kLingerDraining);
  armLingerTimer();
}

}  // namespace arkroute::http
