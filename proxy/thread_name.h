// Names a thread by its role ("ark-worker-0", "ark-blocking-1"...), so `top -H`, `ps -L`, gdb and
// perf show which part of the gateway it is. Called by the thread's creator right after starting
// it, so the name is there as soon as the owner's constructor or start() returns. Linux keeps at
// most 15 characters; longer names are cut. Failure is harmless and ignored.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>
#include <thread>

namespace arkroute {

inline void nameThread(std::thread& thread, std::string_view name) {
  std::string cut(name.substr(0, 15));
  pthread_setname_np(thread.native_handle(), cut.c_str());
}

}  // namespace arkroute
