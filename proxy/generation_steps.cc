// The image pipeline's entry points from its worker's loop: the timers (coalescing wait, queue
// place, retry) and, through runStep and later (generation_handler.h), the tasks it posts and the
// exchange's and the worker's callbacks. A step that throws (a bug) fails its own request as an
// internal error, logged with the request id; the loop and its other requests go on.
#include "proxy/generation_handler.h"
#include "proxy/http/error_line.h"

namespace arkroute {

void GenerationHandler::onWaitTimer(evutil_socket_t, short, void* arg) {
  runTimerStep(arg, &GenerationHandler::onWaitTimeout);
}

void GenerationHandler::onQueueTimer(evutil_socket_t, short, void* arg) {
  runTimerStep(arg, &GenerationHandler::onQueueTimeout);
}

void GenerationHandler::onRetryTimer(evutil_socket_t, short, void* arg) {
  runTimerStep(arg, &GenerationHandler::retryNow);
}

// A timer knows the handler by address: a step may finish the request, and the handler must
// outlive the step (and its failure) all the same.
void GenerationHandler::runTimerStep(void* arg, void (GenerationHandler::*step)()) {
  std::shared_ptr<GenerationHandler> self =
      static_cast<GenerationHandler*>(arg)->shared_from_this();
  self->runStep([&] { (self.get()->*step)(); });
}

// What a step threw. Before the log phase: the request ends as an internal error, its upstream
// call (whose answer nobody will read now) is cancelled and its coalescing wait given up. After
// it: there is nobody left to answer, so the line on stderr is all.
void GenerationHandler::failStep(const std::string& what) {
  if (finished_) {
    http::writeErrorLine("arkroute: internal error after request " + request_id_ +
                         " ended: " + what);
    return;
  }
  leaveCoalescingWait();
  call_.reset();
  failInternally(what);
}

}  // namespace arkroute
