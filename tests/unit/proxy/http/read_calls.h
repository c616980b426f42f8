// readCallsSoFar: the read system calls this process has made (`syscr` in /proc/self/io), for
// tests that check how many calls an amount of input takes.
#pragma once

#include <fstream>
#include <string>

namespace arkroute::http {

inline long readCallsSoFar() {
  std::ifstream io("/proc/self/io");
  std::string name;
  long value = -1;
  while (io >> name >> value) {
    if (name == "syscr:") return value;
  }
  return -1;
}

}  // namespace arkroute::http
