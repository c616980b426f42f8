// One worker thread: its own event_base, DNS resolver, HTTP server (sharing the listening port
// with the other workers through SO_REUSEPORT) and one upstream connection pool per upstream.
// Requests accepted by a worker are handled entirely on its thread.
//
// Config reload: each Runtime the worker is given is a generation with its own upstream pools
// (indexed like that Runtime's upstreams). New requests take the newest generation; a request in
// flight keeps the Runtime it started with and the pools of that generation. An old generation's
// pools are freed once no request holds its Runtime any more.
#pragma once

#include <event2/dns.h>
#include <event2/event.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http/server.h"
#include "proxy/http/upstream.h"
#include "proxy/loop_tasks.h"
#include "proxy/responses.h"
#include "proxy/runtime.h"
#include "proxy/services.h"
#include "proxy/url_answers.h"

namespace arkroute {

class McpService;

class Worker {
 public:
  Worker(size_t index, std::shared_ptr<const Runtime> runtime, Services& services);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds the listening socket (call before start()). Port 0 picks one; see boundPort().
  bool listen(const std::string& host, uint16_t port, bool reuse_port, std::string* error);
  uint16_t boundPort() const { return server_->boundPort(); }

  void start();  // runs the loop on a new thread
  // Thread-safe: stop accepting, let in-flight requests finish for up to drain_timeout, then
  // end the loop. join() waits for the thread.
  void beginDrain(std::chrono::milliseconds drain_timeout);
  void join();
  // Thread-safe: from the next request on, serve with runtime (its config's server limits and
  // listen address are ignored: they cannot change while running). adopted() runs on this
  // worker's thread once the switch is made.
  void adoptRuntime(std::shared_ptr<const Runtime> runtime, std::function<void()> adopted);
  // Thread-safe liveness probe for the service watchdog: queues a task on the loop; true when
  // the task queued by the previous call has run.
  bool pingLoop();

  // For request handlers, on this worker's thread only.
  size_t index() const { return index_; }
  event_base* base() const { return base_; }
  evdns_base* dns() const { return dns_; }
  // The newest Runtime. runtimeRef() is what a request keeps for its whole life.
  const Runtime& runtime() const { return *current_; }
  std::shared_ptr<const Runtime> runtimeRef() const { return current_; }
  // The pool for upstream_index of runtime (a Runtime this worker handed out and that is still
  // held); the one-argument form uses the newest Runtime.
  http::UpstreamPool& pool(const Runtime& runtime, size_t upstream_index);
  http::UpstreamPool& pool(size_t upstream_index) { return pool(*current_, upstream_index); }
  // Upstream i's shaping gate (Services::gates), resolved once per configuration generation so a
  // request does not take the gates' registry lock to find it. Requires Services::gates.
  UpstreamGate& gate(const Runtime& runtime, size_t upstream_index);
  LoopTasks& tasks() { return *tasks_; }
  // Runs job on a blocking pool (work that may wait on the disk), then the continuation it
  // returns on this loop. Without a pool both run now, before offLoop returns. The continuation
  // may run after the request it was for has ended: it must hold what it uses (weakly, for a
  // handler that may be gone). Should job throw (a bug), the exception goes to stderr and
  // if_failed runs on this loop instead: the request waiting for the job is never left waiting.
  // kMaintenance: long admin work (purges), kept off the read pool.
  enum class Lane { kRead, kMaintenance };
  void offLoop(std::function<std::function<void()>()> job, std::function<void()> if_failed,
               Lane lane = Lane::kRead);
  // For an endpoint: work() runs on a pool, then answer(exchange, result) on this loop, unless
  // the client has left meanwhile (a 500 if answer throws: see answerInternalErrors).
  template <class Work, class Answer>
  void answerOffLoop(const std::shared_ptr<http::Exchange>& exchange, std::string request_id,
                     Work work, Answer answer, Lane lane = Lane::kRead) {
    std::weak_ptr<http::Exchange> weak = exchange;
    auto if_failed = [weak, request_id] {
      if (auto exchange = weak.lock()) {
        answerInternalError(*exchange, request_id, "its work off the event loop failed");
      }
    };
    offLoop(
        [weak, request_id = std::move(request_id), work = std::move(work),
         answer = std::move(answer)]() mutable {
          return std::function<void()>([weak, request_id, answer, result = work()]() mutable {
            auto exchange = weak.lock();
            if (!exchange) return;
            answerInternalErrors(*exchange, request_id, [&] { answer(*exchange, result); });
          });
        },
        std::move(if_failed), lane);
  }
  UrlAnswers& urlAnswers() { return url_answers_; }
  // Writes the ledger rows changed by requests that finished on this loop, once, when the loop
  // has run this iteration's other callbacks: one disk write for many requests under load.
  void scheduleLedgerFlush();
  Services& services() { return services_; }
  // This worker's MCP endpoint, built on first use; nullptr when [mcp] enabled = false.
  McpService* mcp();
  // Work a request goes on with after its client left (a cache fill). A drain waits for it like
  // for a request; what is still running when the worker is destroyed is stopped with `stop`, so
  // its log phase (ledger, metrics) still runs. Returns the id to remove it with when it ends.
  uint64_t addBackgroundWork(std::function<void()> stop);
  void removeBackgroundWork(uint64_t id) { background_.erase(id); }

 private:
  // A Runtime and the upstream pools built for it on this worker.
  struct Generation {
    std::shared_ptr<const Runtime> runtime;  // keeps TLS contexts alive while the pools live
    std::weak_ptr<const Runtime> lent;       // this worker's handle to it, held by requests
    std::vector<std::unique_ptr<http::UpstreamPool>> pools;
    std::vector<UpstreamGate*> gates;  // by upstream index; gates live as long as the gateway
  };

  void handle(std::shared_ptr<http::Exchange> exchange);
  Generation& generationOf(const Runtime& runtime);
  void addGeneration(std::shared_ptr<const Runtime> runtime);
  void retireIdleGenerations();
  void drainTick();
  void stopBackgroundWork();
  static void onDrainTimer(evutil_socket_t, short, void* arg);
  static void onLedgerFlush(evutil_socket_t, short, void* arg);
  static void onRetireTimer(evutil_socket_t, short, void* arg);

  size_t index_;
  std::shared_ptr<const Runtime> current_;                // the newest generation's lent handle
  std::vector<std::unique_ptr<Generation>> generations_;  // oldest first; back() is current
  Services& services_;
  event_base* base_ = nullptr;
  evdns_base* dns_ = nullptr;
  std::unique_ptr<LoopTasks> tasks_;
  UrlAnswers url_answers_;  // url-format hit answers, built once per entry
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<McpService> mcp_;
  std::thread thread_;
  event* drain_timer_ = nullptr;
  event* retire_timer_ = nullptr;
  event* ledger_flush_ = nullptr;  // pending while ledger rows changed and are not yet written
  std::map<uint64_t, std::function<void()>> background_;
  uint64_t next_background_id_ = 1;
  std::atomic<uint64_t> pings_sent_{0};
  std::atomic<uint64_t> pings_answered_{0};
  std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace arkroute
