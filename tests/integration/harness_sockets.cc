// Raw-socket helpers: a client that leaves while its request is upstream, and what the kernel holds
// for the loopback TCP sockets on some ports (/proc/net/tcp and tcp6), for the message of a test
// that stalls: bytes queued unread in a receive queue mean the reader did not read them; empty
// queues on both ends mean the bytes never left the sender's process.
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.h"

namespace arkroute::testing {
namespace {

// "0100007F:1F90" → its port (the address is not needed: every test socket is on loopback).
uint16_t portOf(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<uint16_t>(std::stoul(address.substr(colon + 1), nullptr, 16));
}

// A /proc/net/tcp state code as the name netstat gives it.
std::string stateName(const std::string& code) {
  static const char* const kNames[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                       "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                       "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
  unsigned long value = std::stoul(code, nullptr, 16);
  return value < std::size(kNames) ? kNames[value] : code;
}

bool involves(uint16_t local, uint16_t remote, const std::vector<uint16_t>& ports) {
  for (uint16_t port : ports) {
    if (port == local || port == remote) return true;
  }
  return false;
}

void appendTable(const std::string& path, const std::vector<uint16_t>& ports, std::string& out) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);  // the column names
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    if (!(fields >> slot >> local >> remote >> state >> queues)) continue;
    uint16_t local_port = portOf(local);
    uint16_t remote_port = portOf(remote);
    if (!involves(local_port, remote_port, ports)) continue;
    size_t colon = queues.find(':');
    if (colon == std::string::npos) continue;
    unsigned long unsent = std::stoul(queues.substr(0, colon), nullptr, 16);
    unsigned long unread = std::stoul(queues.substr(colon + 1), nullptr, 16);
    out += "  :" + std::to_string(local_port) + " -> :" + std::to_string(remote_port) + " " +
           stateName(state) + " unsent=" + std::to_string(unsent) +
           " unread=" + std::to_string(unread) + "\n";
  }
}

}  // namespace

bool postThenLeave(uint16_t port, const std::string& path, const std::string& body,
                   const std::function<bool()>& arrived, const std::string& extra_headers) {
  int fd = connectLoopback(port);
  if (fd < 0) return false;
  std::string request =
      "POST " + path + " HTTP/1.1\r\nHost: gateway\r\n" + extra_headers +
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  bool sent = write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size());
  bool there = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sent && !(there = arrived()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  close(fd);
  return there;
}

std::string tcpQueues(const std::vector<uint16_t>& ports) {
  std::string out = "TCP sockets on those ports (local -> remote):\n";
  appendTable("/proc/net/tcp", ports, out);
  appendTable("/proc/net/tcp6", ports, out);
  return out;
}

}  // namespace arkroute::testing
