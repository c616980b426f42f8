// arkroute-floor-relay: the least a proxy can do, as a benchmark reference. One blocking thread per
// client connection with its own upstream connection; each message's head is copied through and
// its Content-Length body is moved by read/write ("copy") or by splice through a pipe ("splice",
// no user-space copy). No parsing beyond the head's end and Content-Length, no routing, no
// accounting: what it adds over the upstream alone is the floor under any relay on the machine.
// Bodies must carry Content-Length (chunked messages end the connection). Loopback only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr size_t kBufferBytes = 256 << 10;
constexpr size_t kMaxHeadBytes = 64 << 10;
constexpr int kPipeBytes = 1 << 20;

struct Options {
  uint16_t upstream_port = 0;
  bool splice = false;
};

int connectLoopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t written = write(fd, data, size);
    if (written <= 0) return false;
    data += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

// The Content-Length of a head (0 when it has none); -1 for a chunked message, which this relay
// does not frame.
long bodyLength(std::string_view head) {
  long length = 0;
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line + 2 < head.size()) {
    size_t next = head.find("\r\n", line + 2);
    std::string_view field = head.substr(line + 2, next - line - 2);
    if (field.size() > 15 && strncasecmp(field.data(), "content-length:", 15) == 0) {
      length = std::atol(std::string(field.substr(15)).c_str());
    } else if (field.size() > 18 && strncasecmp(field.data(), "transfer-encoding:", 18) == 0) {
      return -1;
    }
    line = next;
  }
  return length;
}

class Relay {
 public:
  Relay(int client, int upstream, bool use_splice)
      : client_(client), upstream_(upstream), splice_(use_splice), buffer_(kBufferBytes) {}
  ~Relay() {
    close(client_);
    close(upstream_);
    if (pipe_[0] >= 0) {
      close(pipe_[0]);
      close(pipe_[1]);
    }
  }

  void run() {
    if (splice_ && !openPipe()) return;
    while (forwardMessage(client_, upstream_) && forwardMessage(upstream_, client_)) {
    }
  }

 private:
  bool openPipe() {
    if (pipe2(pipe_, O_CLOEXEC) != 0) return false;
    fcntl(pipe_[1], F_SETPIPE_SZ, kPipeBytes);
    return true;
  }

  // One message from `from` to `to`: the head and whatever came with it, then the rest of the body.
  bool forwardMessage(int from, int to) {
    size_t have = 0, head_end = std::string_view::npos;
    while (head_end == std::string_view::npos) {
      if (have == kMaxHeadBytes) return false;
      ssize_t got = read(from, buffer_.data() + have, kMaxHeadBytes - have);
      if (got <= 0) return false;
      size_t from_byte = have > 3 ? have - 3 : 0;
      have += static_cast<size_t>(got);
      head_end = std::string_view(buffer_.data(), have).find("\r\n\r\n", from_byte);
    }
    long length = bodyLength(std::string_view(buffer_.data(), head_end + 2));
    if (length < 0 || !writeAll(to, buffer_.data(), have)) return false;
    long left = length - static_cast<long>(have - head_end - 4);
    return splice_ ? spliceBody(from, to, left) : copyBody(from, to, left);
  }

  bool copyBody(int from, int to, long left) {
    while (left > 0) {
      ssize_t got = read(from, buffer_.data(), std::min<size_t>(buffer_.size(), left));
      if (got <= 0 || !writeAll(to, buffer_.data(), static_cast<size_t>(got))) return false;
      left -= got;
    }
    return left == 0;
  }

  bool spliceBody(int from, int to, long left) {
    while (left > 0) {
      ssize_t in = splice(from, nullptr, pipe_[1], nullptr, left, SPLICE_F_MOVE | SPLICE_F_MORE);
      if (in <= 0) return false;
      left -= in;
      for (ssize_t out = 0; in > 0; in -= out) {
        out =
            splice(pipe_[0], nullptr, to, nullptr, in, SPLICE_F_MOVE | (left ? SPLICE_F_MORE : 0));
        if (out <= 0) return false;
      }
    }
    return left == 0;
  }

  int client_, upstream_;
  bool splice_;
  int pipe_[2] = {-1, -1};
  std::vector<char> buffer_;
};

int listenLoopback(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 || listen(fd, 512) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(address.sin_port);
  return fd;
}

bool parseFlags(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--upstream-port" && i + 1 < argc) {
      options->upstream_port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (flag == "--splice") {
      options->splice = true;
    } else {
      return false;
    }
  }
  return options->upstream_port != 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parseFlags(argc, argv, &options)) {
    std::cerr << "usage: arkroute-floor-relay --upstream-port PORT [--splice]\n";
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-answer ends its connection, not the relay
  uint16_t port = 0;
  int listener = listenLoopback(&port);
  if (listener < 0) {
    std::perror("arkroute-floor-relay: listen");
    return 1;
  }
  std::cout << "arkroute-floor-relay listening on http://127.0.0.1:" << port << std::endl;
  for (;;) {
    int client = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int upstream = connectLoopback(options.upstream_port);
    if (upstream < 0) {
      close(client);
      continue;
    }
    std::thread([client, upstream, &options] {
      Relay(client, upstream, options.splice).run();
    }).detach();
  }
}
