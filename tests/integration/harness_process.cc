// Child processes for integration tests: fork/exec with stdout on a pipe and stderr in a file,
// whose end is printed when the test that ran the child has failed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "integration/harness.h"

extern char** environ;

namespace arkroute::testing {

namespace {

std::vector<char*> buildEnv(const std::map<std::string, std::string>& extra,
                            std::vector<std::string>* storage) {
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (!extra.count(name)) storage->push_back(entry);
  }
  for (const auto& [name, value] : extra) storage->push_back(name + "=" + value);
  std::vector<char*> out;
  for (auto& entry : *storage) out.push_back(entry.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env)
    : name_(argv.empty() ? "" : argv[0].substr(argv[0].rfind('/') + 1)) {
  char tmpl[] = "/tmp/arkroute-child-stderr-XXXXXX";
  int err_fd = mkstemp(tmpl);
  stderr_path_ = tmpl;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) std::abort();
  std::vector<std::string> env_storage;
  std::vector<char*> envp = buildEnv(env, &env_storage);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  close(err_fd);
  stdout_fd_ = pipe_fds[0];
  fcntl(stdout_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!exited_ && pid_ > 0) {
    kill(pid_, SIGTERM);
    if (waitExit(5s) == -1) {
      kill(pid_, SIGKILL);
      waitExit(5s);
    }
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (::testing::Test::HasFailure()) printStderrTail();
  unlink(stderr_path_.c_str());
}

// What a gateway or simulator said before a failure is often the only clue to a failure seen once.
void ChildProcess::printStderrTail() const {
  constexpr size_t kTail = 4000;
  std::string text = readFile(stderr_path_);
  if (text.size() > kTail) text = "..." + text.substr(text.size() - kTail);
  std::cerr << "--- " << name_ << " (pid " << pid_ << ", exit " << exit_code_
            << "): its stderr, as the failed test left it ---\n"
            << (text.empty() ? "(empty)\n" : text) << "--- end of " << name_ << "'s stderr ---"
            << std::endl;
}

uint16_t ChildProcess::waitListening(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t at = stdout_buffer_.find("listening on ");
    if (at != std::string::npos) {
      size_t eol = stdout_buffer_.find('\n', at);
      if (eol != std::string::npos) {
        std::string line = stdout_buffer_.substr(at, eol - at);
        return static_cast<uint16_t>(std::atoi(line.c_str() + line.rfind(':') + 1));
      }
    }
    pollfd pfd{stdout_fd_, POLLIN, 0};
    poll(&pfd, 1, 50);
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n > 0) stdout_buffer_.append(buf, static_cast<size_t>(n));
    if (n == 0) return 0;  // the child closed stdout: it exited
  }
  return 0;
}

std::string ChildProcess::stdoutText() {
  char buf[4096];
  ssize_t n;
  while ((n = read(stdout_fd_, buf, sizeof buf)) > 0) stdout_buffer_.append(buf, size_t(n));
  return stdout_buffer_;
}

void ChildProcess::signal(int signal_number) {
  if (!exited_ && pid_ > 0) kill(pid_, signal_number);
}

int ChildProcess::waitExit(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    usleep(10'000);
  }
  return -1;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/arkroute-test-XXXXXX";
  path_ = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::string command = "rm -rf '" + path_ + "'";
  if (std::system(command.c_str()) != 0) return;
}

std::string runCli(const std::vector<std::string>& args, const std::string& env, int* exit_code) {
  std::string command = env + " " + ARKROUTE_BIN;
  for (const auto& arg : args) command += " '" + arg + "'";
  command += " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

}  // namespace arkroute::testing
