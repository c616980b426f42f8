// Unit tests for the access log: the JSON line (fields, time format, prompts only when asked,
// invalid UTF-8), and the background writer (everything written on stop, a stuck output drops
// and counts lines instead of blocking the caller, reopen after rotation).
#include "proxy/ops/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "proxy/ops/access_log_line.h"

namespace arkroute::ops {
namespace {

RequestRecord sampleRecord() {
  RequestRecord r;
  r.time_ms = 1'764'446'400'123;  // 2025-11-29T20:00:00.123Z
  r.request_id = "req_1";
  r.method = "POST";
  r.path = "/v1/images/generations";
  r.key_name = "team-a";
  r.model = "gpt-image-1";
  r.upstream = "sim";
  r.status = 200;
  r.cache_status = "MISS";
  r.outcome = "ok";
  r.cost_usd = 0.042;
  r.images = 1;
  r.prompt_sha256 = std::string(64, 'a');
  r.prompt = "a very secret prompt";
  r.bytes_in = 52;
  r.bytes_out = 1400;
  r.upstream_ms = 1234.56789;
  r.total_ms = 1240.0004;
  return r;
}

TEST(AccessLogLine, TimeIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(formatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatRfc3339Millis(1'764'446'400'123), "2025-11-29T20:00:00.123Z");
  EXPECT_EQ(formatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
}

TEST(AccessLogLine, CarriesEveryFieldOnOneLine) {
  RequestRecord record = sampleRecord();
  record.prompt.clear();  // log.prompts off: only its hash
  std::string line = formatAccessLogLine(record);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["time"], "2025-11-29T20:00:00.123Z");
  EXPECT_EQ(json["request_id"], "req_1");
  EXPECT_EQ(json["key"], "team-a");
  EXPECT_EQ(json["model"], "gpt-image-1");
  EXPECT_EQ(json["upstream"], "sim");
  EXPECT_EQ(json["status"], 200);
  EXPECT_EQ(json["cache"], "MISS");
  EXPECT_EQ(json["cost_usd"], 0.042);
  EXPECT_TRUE(json["saved_usd"].is_null());
  EXPECT_TRUE(json["error"].is_null());
  EXPECT_EQ(json["bytes_in"], 52);
  EXPECT_EQ(json["bytes_out"], 1400);
  EXPECT_EQ(json["upstream_ms"], 1234.568);
  EXPECT_EQ(json["total_ms"], 1240.0);
  EXPECT_EQ(json["queue_ms"], 0.0);
  EXPECT_EQ(json["prompt_sha256"], std::string(64, 'a'));
  EXPECT_EQ(json["method"], "POST");
  EXPECT_EQ(json["path"], "/v1/images/generations");
  EXPECT_FALSE(json.contains("prompt"));
  EXPECT_EQ(line.find("secret"), std::string::npos);
}

TEST(AccessLogLine, PromptOnlyWhenTheRecordCarriesIt) {
  auto json = nlohmann::json::parse(formatAccessLogLine(sampleRecord()));
  EXPECT_EQ(json["prompt"], "a very secret prompt");
  RequestRecord no_prompt = sampleRecord();
  no_prompt.prompt.clear();
  EXPECT_FALSE(nlohmann::json::parse(formatAccessLogLine(no_prompt)).contains("prompt"));
}

TEST(AccessLogLine, InvalidUtf8IsReplacedNotFatal) {
  RequestRecord r = sampleRecord();
  r.path = "/bad\xff\xfepath";
  std::string line = formatAccessLogLine(r);
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["path"].get<std::string>().substr(0, 4), "/bad");
}

TEST(AccessLogLine, StringsAreEscapedAndValidUtf8IsKept) {
  RequestRecord r = sampleRecord();
  r.prompt = "caf\xc3\xa9 \xe2\x98\x95 \"quoted\" back\\slash\ttab\x01\nnewline \xf0\x9f\x90\x98";
  r.path = "/surrogate\xed\xa0\x80/overlong\xc0\xaf/cut\xe2\x98";
  std::string line = formatAccessLogLine(r);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line, whatever the strings hold";
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["prompt"], r.prompt);
  EXPECT_EQ(json["path"],
            "/surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd/overlong"
            "\xef\xbf\xbd\xef\xbf\xbd/cut\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_NE(line.find("\\u0001"), std::string::npos);
}

std::string readAll(int fd) {
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

TEST(AccessLog, StopWritesEveryQueuedLine) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto log = AccessLog::toDescriptor(fds[1], {});
  for (int i = 0; i < 100; ++i) {
    RequestRecord r = sampleRecord();
    std::string request_id = "req_" + std::to_string(i);  // the record only names it
    r.request_id = request_id;
    log->onRequestFinished(r);
  }
  log->stop();
  close(fds[1]);
  std::string text = readAll(fds[0]);
  close(fds[0]);
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    EXPECT_EQ(nlohmann::json::parse(line)["request_id"], "req_" + std::to_string(count));
    ++count;
  }
  EXPECT_EQ(count, 100);
  EXPECT_EQ(log->written(), 100u);
  EXPECT_EQ(log->dropped(), 0u);
}

TEST(AccessLog, StuckOutputDropsAndCountsInsteadOfBlocking) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // Fill the pipe so the writer thread blocks on its first write.
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  std::string filler(4096, 'x');
  while (write(fds[1], filler.data(), filler.size()) > 0) {
  }
  fcntl(fds[1], F_SETFL, 0);
  AccessLog::Options options;
  options.max_queued_lines = 4;
  auto log = AccessLog::toDescriptor(fds[1], options);
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) log->onRequestFinished(sampleRecord());
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, std::chrono::seconds(2)) << "onRequestFinished must never wait for the output";
  // At most the queue (4) plus one batch the writer holds (<= 4) can be kept.
  EXPECT_GE(log->dropped(), 42u);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  std::thread drain([&] {
    while (log->written() + log->dropped() < 50) readAll(fds[0]);
  });
  log->stop();
  drain.join();
  EXPECT_EQ(log->written() + log->dropped(), 50u);
  close(fds[0]);
  close(fds[1]);
}

TEST(AccessLog, AppendsToAFileAndReopensAfterRotation) {
  char dir_template[] = "/tmp/arkroute-accesslog-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string path = dir + "/access.log";
  std::string error;
  auto log = AccessLog::open(path, {}, &error);
  ASSERT_TRUE(log) << error;
  log->onRequestFinished(sampleRecord());
  while (log->written() < 1) std::this_thread::yield();
  ASSERT_EQ(rename(path.c_str(), (path + ".1").c_str()), 0);
  log->reopen();
  log->onRequestFinished(sampleRecord());
  log->stop();
  auto countLines = [](const std::string& file) {
    std::ifstream in(file);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) ++n;
    return n;
  };
  EXPECT_EQ(countLines(path + ".1"), 1);
  EXPECT_EQ(countLines(path), 1);
  EXPECT_FALSE(AccessLog::open(dir + "/missing/dir/log", {}, &error));
  EXPECT_NE(error.find("cannot open access log"), std::string::npos);
  std::remove((path + ".1").c_str());
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace arkroute::ops
