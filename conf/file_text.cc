// Whole-file reads with POSIX calls: the kind is checked on the open descriptor (fstat), and a
// FIFO is opened without blocking so that a regular-only read can refuse it.
#include "conf/file_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arkroute {

namespace {

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::optional<std::string> fail(std::string* why, std::string reason) {
  *why = std::move(reason);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> readFileText(const std::string& path, FileKind kind, std::string* why) {
  int flags = O_RDONLY | O_CLOEXEC | (kind == FileKind::kRegular ? O_NONBLOCK : 0);
  Descriptor fd(::open(path.c_str(), flags));
  if (fd.get() < 0) return fail(why, std::strerror(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return fail(why, std::strerror(errno));
  if (S_ISDIR(info.st_mode)) return fail(why, "is a directory");
  if (kind == FileKind::kRegular && !S_ISREG(info.st_mode)) {
    return fail(why, "is not a regular file");
  }
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got > 0) {
      text.append(buffer, static_cast<size_t>(got));
    } else if (got == 0) {
      return text;
    } else if (errno != EINTR) {
      return fail(why, std::strerror(errno));
    }
  }
}

}  // namespace arkroute
