// Integration test harness: starts arkroute-sim and arkroute as real child processes on ephemeral
// loopback ports, writes gateway configs, and talks to both with a small blocking HTTP/1.1 client
// (http-parser for responses). Every child is stopped by PID when its handle goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace arkroute::testing {

using namespace std::chrono_literals;

// A child process whose stdout is read until it prints its "listening on URL" line.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits for a stdout line containing "listening on "; returns its port (0 on timeout/exit).
  uint16_t waitListening(std::chrono::milliseconds timeout = 10s);
  pid_t pid() const { return pid_; }
  void signal(int signal_number);
  // Waits for the process to exit; returns its exit code (128+signal when killed), -1 on timeout.
  int waitExit(std::chrono::milliseconds timeout = 10s);
  std::string stderrPath() const { return stderr_path_; }
  std::string stdoutText();  // what was read from stdout so far (plus anything pending)

 private:
  void printStderrTail() const;

  std::string name_;  // the program's file name, for the failure report
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_buffer_;
  std::string stderr_path_;
  int exit_code_ = -1;
  bool exited_ = false;
};

struct HttpResponse {
  int status = 0;                              // 0: no response (connection error / timeout)
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::string error;  // set when status == 0 or the body was cut short
  bool complete = false;
  std::string header(const std::string& name) const;
};

struct HttpCall {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout = 30s;
  // Called with each body piece and the time it arrived (for streaming tests).
  std::function<void(const std::string&)> on_body;
};

HttpResponse httpRequest(uint16_t port, const HttpCall& call);
HttpResponse httpGet(uint16_t port, const std::string& path);
HttpResponse httpPostJson(uint16_t port, const std::string& path, const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers = {});

// Raw sockets, for tests that send what no HTTP client would. connectLoopback returns a socket
// connected to 127.0.0.1:port, or -1. readUntilClosed returns what arrived before the peer closed
// (then "<EOF>" is appended, "<ERR>" on a reset) or the timeout passed (nothing appended).
int connectLoopback(uint16_t port);
std::string readUntilClosed(int fd, std::chrono::milliseconds timeout);

// A client that leaves while its request is upstream: POSTs body (JSON, plus extra header lines
// "Name: value\r\n") to path from a raw socket, waits (up to 10 s) until arrived() is true,
// then closes the socket. A fixed client timeout instead could end before the gateway forwarded
// the request (slow under sanitizers). Returns arrived()'s last answer.
bool postThenLeave(uint16_t port, const std::string& path, const std::string& body,
                   const std::function<bool()>& arrived, const std::string& extra_headers = "");

// A fresh temp directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void writeFile(const std::string& path, const std::string& text);
// The whole file ("" when it cannot be read): configs, logs, a process's stderr.
std::string readFile(const std::string& path);
// Writes a self-signed certificate for `name` (its DNS SAN) and its key to dir's cert.pem and
// key.pem, with the openssl command; false on failure.
bool makeCertificate(const TempDir& dir, const std::string& name);
// The kernel's send and receive queues of every TCP socket to or from these ports, one per line:
// what a test that stalls prints to say which side holds the missing bytes.
std::string tcpQueues(const std::vector<uint16_t>& ports);

class Simulator {
 public:
  explicit Simulator(std::vector<std::string> extra_args = {});
  uint16_t port() const { return port_; }
  std::string baseUrl() const;  // "http://127.0.0.1:PORT/v1"
  // GET /_sim/stats → requests to path, connections accepted.
  int requests(const std::string& path = "/v1/images/generations");
  int connectionsAccepted();
  void reset();
  std::string lastRequestJson();
  ChildProcess& process() { return process_; }

 private:
  ChildProcess process_;
  uint16_t port_ = 0;
};

struct GatewayOptions {
  std::string upstream_base_url;                 // required
  std::string extra_upstream_toml;               // appended inside the [[upstream]] table
  std::string extra_toml;                        // appended at the end of the file
  std::string server_toml;                       // appended inside [server]
  std::string cache_toml = "enabled = false\n";  // inside [cache] (path is set by the harness)
  std::string cache_path;   // [cache] path; empty: "cache" in the gateway's temp directory
  std::string auth_toml;    // inside [auth]
  std::string models_toml;  // replaces the default models (gpt-image-1, seedream-4.5 on "sim")
  // inside [log]: off by default, since nobody reads a test gateway's stdout after it is ready
  std::string log_toml = "access_log = \"off\"\n";
  std::map<std::string, std::string> env;
  int workers = 2;
};

class Gateway {
 public:
  explicit Gateway(GatewayOptions options);
  uint16_t port() const { return port_; }
  const std::string& configPath() const { return config_path_; }
  const std::string& dataDir() const { return dir_.path(); }
  ChildProcess& process() { return *process_; }
  // Stops and starts the same gateway again (same config, same data directory).
  void restart(int signal_number);

 private:
  void launch();
  TempDir dir_;
  GatewayOptions options_;
  std::string config_path_;
  std::unique_ptr<ChildProcess> process_;
  uint16_t port_ = 0;
};

// Stops the gateway with SIGTERM (it drains and writes out its log) and returns the records of
// its access log at log_path (a file set in GatewayOptions::log_toml), one JSON object a line.
std::vector<nlohmann::json> stopAndReadAccessLog(Gateway& gateway, const std::string& log_path);

// The ledger's total cost (GET /v1/usage, open mode: the anonymous rows) once `requests` rows are
// in (settling is asynchronous); a test failure if they never are.
double chargedUsd(uint16_t port, int requests);

// Runs the arkroute binary with args (each quoted), after `env` (shell words, e.g. "cd DIR &&"),
// and returns its stdout and stderr; *exit_code gets its exit status.
std::string runCli(const std::vector<std::string>& args, const std::string& env = "",
                   int* exit_code = nullptr);

// Opens a connection to port and sends a JSON POST to /v1/images/generations with the extra header
// lines (each ending in CRLF), without reading the answer: the caller closes the returned socket
// (a client that leaves), or -1 when it could not connect.
int sendGenerationAndStay(uint16_t port, const std::string& body, const std::string& headers);

// Base64 decoding for checking images; PNG signature check.
std::string base64Decode(const std::string& text);
bool looksLikePng(const std::string& bytes);

}  // namespace arkroute::testing
