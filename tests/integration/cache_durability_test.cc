// Integration: the cache survives SIGKILL in the middle of a write-heavy load. After a restart the
// gateway opens the same database and every entry it serves is byte-identical to what the
// (deterministic) simulator generates for that prompt; no torn record is ever served. A full disk
// stops the cache's writes, never the gateway, and once the disk has room again they go on.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"
#include "integration/mcp_client.h"

namespace arkroute::testing {
namespace {

std::string bodyFor(int i) {
  return R"({"model":"gpt-image-1","prompt":"durable image )" + std::to_string(i) + "\"}";
}

// A 3 MiB tmpfs, unmounted when the test ends. Mounting needs root (CAP_SYS_ADMIN).
class SmallDisk {
 public:
  SmallDisk() : mounted_(mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=3m") == 0) {}
  ~SmallDisk() {
    if (mounted_) umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  // Gives the disk more room, as freeing space on a real one would.
  bool grow(const char* size) {
    std::string options = std::string("size=") + size;
    return mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }
  std::string path() const { return dir_.file("cache"); }

 private:
  TempDir dir_;
  bool mounted_;
};

// A simulator with ~1 MB answers and the options of a one-worker gateway whose cache is on a
// small disk. The tests need root to mount it (as scripts/test.sh and CI run); without, they skip.
class OnASmallDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
    options_.upstream_base_url = sim_.baseUrl();
    options_.cache_toml = "enabled = true\n";
    options_.cache_path = disk_.path();
    options_.workers = 1;
  }
  SmallDisk disk_;
  Simulator sim_{{"--payload-bytes", "700000"}};
  GatewayOptions options_;
};

// Twelve generations, the disk full after a few: every one is still answered.
void fillTheDisk(const Gateway& gateway) {
  for (int i = 0; i < 12; ++i) {
    HttpResponse answer = httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(i));
    ASSERT_EQ(answer.status, 200) << "request " << i << ": " << answer.error;
  }
}

// Polls /metrics (bounded, 30 s) until the gauge arkroute_database_writes_stopped reads value.
bool writesStoppedReads(const Gateway& gateway, int value) {
  std::string wanted = "\narkroute_database_writes_stopped " + std::to_string(value) + "\n";
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    if (httpGet(gateway.port(), "/metrics").body.find(wanted) != std::string::npos) return true;
  }
  return false;
}

// With the database's disk full, Debian's RocksDB 7.8 used to abort the gateway on its next
// info-log line (a debug assertion it ships with). Now every request is still answered, what was
// stored is still served, and the log says writes stopped. Once the disk has room again, RocksDB
// recovers on its own and the cache stores again, without a restart.
TEST_F(OnASmallDisk, AFullDiskStopsStoringAndTheGatewayServesOnUntilThereIsRoom) {
  Gateway gateway(options_);
  ASSERT_NO_FATAL_FAILURE(fillTheDisk(gateway));
  HttpResponse first = httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(0));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("x-arkroute-cache"), "HIT") << "stored before the disk filled";
  EXPECT_EQ(httpGet(gateway.port(), "/healthz").status, 200);
  // The cache stores on its writer thread: wait (bounded) for it to reach the full disk.
  EXPECT_TRUE(writesStoppedReads(gateway, 1));
  EXPECT_EQ(httpGet(gateway.port(), "/healthz").status, 200) << "still serving after it";
  // A url answer is a stored image: with writes stopped it is a clear 503, never a URL that the
  // failed write would leave answering 404.
  int generated = sim_.requests();
  HttpResponse url = httpPostJson(gateway.port(), "/v1/images/generations",
                                  R"({"model":"gpt-image-1","prompt":"after the disk filled",)"
                                  R"("response_format":"url"})");
  EXPECT_EQ(url.status, 503) << url.body;
  EXPECT_NE(url.body.find("\"code\":\"cache_unavailable\""), std::string::npos) << url.body;
  EXPECT_NE(url.body.find("nothing was generated"), std::string::npos) << url.body;
  EXPECT_EQ(sim_.requests(), generated) << "known unstorable up front: not paid for";
  std::string log = readFile(gateway.process().stderrPath());
  EXPECT_NE(log.find("a write failed (IO error: No space left on device"), std::string::npos)
      << log;

  // RocksDB resumes once its largest memtable (64 MiB) fits on the disk.
  ASSERT_TRUE(disk_.grow("128m"));
  ASSERT_TRUE(writesStoppedReads(gateway, 0));
  HttpResponse stored = httpPostJson(gateway.port(), "/v1/images/generations",
                                     R"({"model":"gpt-image-1","prompt":"after the disk grew",)"
                                     R"("response_format":"url"})");
  ASSERT_EQ(stored.status, 200) << stored.body;
  std::string image_url = nlohmann::json::parse(stored.body)["data"][0]["url"];
  HttpResponse image = httpGet(gateway.port(), image_url.substr(image_url.find("/v1/")));
  EXPECT_EQ(image.status, 200);
  EXPECT_EQ(image.header("content-type"), "image/png");
  HttpResponse again = httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(100));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(100))
                .header("x-arkroute-cache"),
            "HIT");
  log = readFile(gateway.process().stderrPath());
  EXPECT_NE(log.find("RocksDB recovered from"), std::string::npos) << log;
}

// A url answer goes out once its images are written. On a disk that fills up, each url answer is
// either URLs that resolve or a 503 cache_unavailable: never URLs to images whose write failed
// after they were handed out (they used to answer 404). Each request is sent three times at once:
// the two that wait for the first one's generation wait for its write too.
TEST_F(OnASmallDisk, UrlAnswersWaitForTheirWriteAndNeverLinkToALostOne) {
  Gateway gateway(options_);
  int unavailable = 0;
  for (int i = 0; i < 12 && unavailable == 0; ++i) {
    const std::string body = R"({"model":"gpt-image-1","response_format":"url","prompt":"linked )" +
                             std::to_string(i) + "\"}";
    std::vector<HttpResponse> answers(3);
    std::vector<std::thread> clients;
    for (auto& answer : answers) {
      clients.emplace_back(
          [&] { answer = httpPostJson(gateway.port(), "/v1/images/generations", body); });
    }
    for (auto& client : clients) client.join();
    std::this_thread::sleep_for(300ms);  // whatever became of the write has happened by now
    for (const HttpResponse& answer : answers) {
      if (answer.status == 503) {
        EXPECT_NE(answer.body.find("\"code\":\"cache_unavailable\""), std::string::npos)
            << answer.body;
        ++unavailable;
        continue;
      }
      ASSERT_EQ(answer.status, 200) << "request " << i << ": " << answer.body;
      std::string url = nlohmann::json::parse(answer.body)["data"][0]["url"];
      EXPECT_EQ(httpGet(gateway.port(), url.substr(url.find("/v1/"))).status, 200)
          << "request " << i << "'s URL (" << answer.header("x-arkroute-cache") << ")";
    }
  }
  EXPECT_GE(unavailable, 1) << "the disk filled up";
}

// The MCP tools name stored images by URL (image_urls) only once their write landed. On a disk
// that fills up, every URL they give resolves, and the images come all the same.
TEST_F(OnASmallDisk, TheMcpToolsLinkOnlyToWrittenImages) {
  Gateway gateway(options_);
  std::string session = openSession(gateway.port());
  int unlinked = 0;
  for (int i = 0; i < 12 && unlinked == 0; ++i) {
    nlohmann::json result = callTool(
        gateway.port(), session, "generate_image",
        {{"prompt", "an mcp image " + std::to_string(i)}, {"model", "gpt-image-1"}})["result"];
    ASSERT_EQ(result["isError"], false) << result.dump().substr(0, 300);
    EXPECT_EQ(result["content"][0]["type"], "image") << "the images come with or without links";
    const nlohmann::json& urls = result["structuredContent"]["image_urls"];
    if (!urls.is_array() || urls.empty()) {
      ++unlinked;
      continue;
    }
    std::this_thread::sleep_for(300ms);  // whatever became of the write has happened by now
    std::string url = urls[0];
    EXPECT_EQ(httpGet(gateway.port(), url.substr(url.find("/v1/"))).status, 200)
        << "image " << i << "'s URL";
  }
  EXPECT_EQ(unlinked, 1) << "the disk filled up";
}

// A gateway restarted on a full disk: RocksDB cannot write the files replaying its log needs, and
// the gateway used to refuse to start. It now opens the database read-only and serves what it
// holds, with writes stopped.
TEST_F(OnASmallDisk, AGatewayRestartedOnAFullDiskServesWhatIsStored) {
  {
    Gateway filling(options_);
    ASSERT_NO_FATAL_FAILURE(fillTheDisk(filling));
    ASSERT_TRUE(writesStoppedReads(filling, 1));
    // Spent once writes stopped: its ledger row cannot be written (the rows of the requests
    // before may all have been written before the disk filled).
    EXPECT_EQ(httpPostJson(filling.port(), "/v1/images/generations", bodyFor(60)).status, 200);
    filling.process().signal(SIGTERM);
    EXPECT_EQ(filling.process().waitExit(15s), 0);
    std::string log = readFile(filling.process().stderrPath());
    EXPECT_NE(log.find(" row(s) could not be written"), std::string::npos)
        << "the spend that could not be stored is reported: " << log;
  }
  Gateway restarted(options_);
  ASSERT_NE(restarted.port(), 0) << "the gateway did not start on the full disk";
  EXPECT_EQ(httpGet(restarted.port(), "/healthz").status, 200);
  HttpResponse first = httpPostJson(restarted.port(), "/v1/images/generations", bodyFor(0));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("x-arkroute-cache"), "HIT") << "stored before the disk filled";
  EXPECT_EQ(httpPostJson(restarted.port(), "/v1/images/generations", bodyFor(50)).status, 200)
      << "a miss is served, not stored";
  EXPECT_TRUE(writesStoppedReads(restarted, 1));
  std::string log = readFile(restarted.process().stderrPath());
  EXPECT_NE(log.find("opened read-only"), std::string::npos) << log;
}

TEST(CacheDurability, SigkillDuringWritesNeverServesATornEntry) {
  Simulator sim({"--payload-bytes", "200000"});
  GatewayOptions options;
  options.upstream_base_url = sim.baseUrl();
  options.cache_toml = "enabled = true\n";
  Gateway gateway(options);
  constexpr int kPrompts = 120;
  std::atomic<int> next{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = next++; i < kPrompts && !killed; i = next++) {
        httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(i));
      }
    });
  }
  while (next < kPrompts / 2) std::this_thread::sleep_for(5ms);
  gateway.process().signal(SIGKILL);
  killed = true;
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(gateway.process().waitExit(5s), 128 + SIGKILL);

  gateway.restart(SIGTERM);
  ASSERT_NE(gateway.port(), 0) << "the gateway must open its database after a SIGKILL";
  int hits = 0;
  for (int i = 0; i < kPrompts; ++i) {
    HttpResponse served = httpPostJson(gateway.port(), "/v1/images/generations", bodyFor(i));
    HttpResponse truth = httpPostJson(sim.port(), "/v1/images/generations", bodyFor(i));
    ASSERT_EQ(served.status, 200) << i;
    ASSERT_EQ(served.body, truth.body)
        << "prompt " << i << " served " << served.header("x-arkroute-cache");
    hits += served.header("x-arkroute-cache") == "HIT";
  }
  EXPECT_GT(hits, 0) << "entries written before the kill should have survived";
}

}  // namespace
}  // namespace arkroute::testing
