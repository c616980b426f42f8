// readCallsSoFar and writeCallsSoFar: the read and write system calls this process has made
// (`syscr` and `syscw` in /proc/self/io: read/readv and write/writev, not recv or send), for tests
// that check how many calls an amount of input or output takes.
#pragma once

#include <fstream>
#include <string>

namespace arkroute::http {

inline long ioCallsSoFar(const std::string& field) {
  std::ifstream io("/proc/self/io");
  std::string name;
  long value = -1;
  while (io >> name >> value) {
    if (name == field) return value;
  }
  return -1;
}

inline long readCallsSoFar() {
  return ioCallsSoFar("syscr:");
}

inline long writeCallsSoFar() {
  return ioCallsSoFar("syscw:");
}

}  // namespace arkroute::http
