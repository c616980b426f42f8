// Runs `promtool check metrics` on exposition text, for tests. promtool comes with the Debian
// package prometheus (scripts/setup.sh installs it).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace arkroute::testing {

inline constexpr const char* kPromtool = "/usr/bin/promtool";

inline bool havePromtool() {
  return access(kPromtool, X_OK) == 0;
}

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  // promtool's complaints (stdout and stderr)
};

// Writes text to a temp file and runs promtool on it.
inline PromtoolResult promtoolCheck(const std::string& text) {
  char path[] = "/tmp/arkroute-metrics-XXXXXX";
  int fd = mkstemp(path);
  PromtoolResult result;
  if (fd < 0) return result;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  std::string command = std::string(kPromtool) + " check metrics < " + path + " 2>&1";
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
    int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  unlink(path);
  return result;
}

}  // namespace arkroute::testing
