// Sampled maps through the real kernel: histograms and tables from
// `/// @sample`, their intervals, clear_map, the last snapshot at exit.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

// A package with its @sample changed, written to `dir`.
std::string with_sample(const std::string& package, const std::string& map, const nlohmann::json& sample,
                        const TempDir& dir) {
  auto j = nlohmann::json::parse(read_text(package));
  for (auto& m : j["meta"]["bpf_skel"]["maps"])
    if (m["name"] == map) m["sample"] = sample;
  write_text(dir / "package.json", j.dump());
  return (dir / "package.json").string();
}

// Busy children: the scheduler has something to measure.
struct Load {
  std::vector<pid_t> pids;
  Load() {
    for (int i = 0; i < 3; i++) {
      pid_t pid = fork();
      if (pid == 0) {
        for (;;) sched_yield();
      }
      pids.push_back(pid);
    }
  }
  ~Load() {
    for (pid_t p : pids) kill(p, SIGKILL);
    for (pid_t p : pids) waitpid(p, nullptr, 0);
  }
};

TEST(Sampling, RunqlatHistogramsHaveCountsThatGrowWithoutClearing) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string package = with_sample(example_package("runqlat"), "hists",
                                    {{"interval", 400}, {"type", "log2_hist"}, {"unit", "usecs"}}, dir);
  Load load;
  Result r = run(ecli_run({"--json", "-d", "1.5", package}));
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<uint64_t> totals;
  for (auto& j : json_lines(r.out)) {
    EXPECT_EQ(j["map"], "hists");
    EXPECT_EQ(j["key"], 4294967295u);
    ASSERT_EQ(j["buckets"].size(), 26u);
    EXPECT_EQ(j["buckets"][3], nlohmann::json({{"low", 8}, {"high", 15}, {"count", j["buckets"][3]["count"]}}));
    totals.push_back(j["total"]);
  }
  ASSERT_GE(totals.size(), 3u) << r.out;  // every 400 ms, and once more at exit
  EXPECT_GT(totals.front(), 0u);
  for (size_t i = 1; i < totals.size(); i++) EXPECT_GE(totals[i], totals[i - 1]);
  EXPECT_GT(totals.back(), totals.front());
}

TEST(Sampling, RunqlatTextHistogramInBccLayout) {
  REQUIRE_ROOT();
  Load load;
  Process ecli(ecli_run({"-d", "20", example_package("runqlat"), "--targ_per_process"}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  ASSERT_TRUE(ecli.wait_stdout("     usecs               : count    distribution\n", 5s)) << ecli.out();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
  std::string out = ecli.out();
  EXPECT_NE(out.find("         0 -> 1          : "), std::string::npos) << out;
  EXPECT_NE(out.find("\ncomm = "), std::string::npos) << out;
  EXPECT_NE(out.find(fmt::format("\nkey = {}\n", load.pids[0])), std::string::npos) << out;  // per process
}

// readsize's linear buckets hold the sizes the test reads, and clear_map keeps
// each interval's counts to itself.
void reads_in_two_intervals(bool clear, std::vector<nlohmann::json>& snapshots) {
  TempDir dir;
  nlohmann::json sample = {{"interval", 700}, {"type", "linear_hist"}, {"min", 0},      {"max", 8192},
                           {"step", 512},     {"unit", "bytes"},      {"clear_map", clear}};
  std::string package = with_sample(example_package("readsize"), "reads", sample, dir);
  int again[2];
  ASSERT_EQ(pipe(again), 0);
  Trigger reader([&] {
    int fd = open("/dev/zero", O_RDONLY);
    char buf[2048];
    // 600 and 2000 bytes: away from bucket 0, where the 1-byte pipe reads land.
    for (int i = 0; i < 50; i++) (void)!read(fd, buf, 600);
    char c;
    if (read(again[0], &c, 1) == 1)
      for (int i = 0; i < 30; i++) (void)!read(fd, buf, 2000);
  });
  Process ecli(ecli_run({"--json", "-d", "20", package, "--filter_pid", std::to_string(reader.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  reader.go();
  ASSERT_TRUE(ecli.wait_stdout("\"map\":\"reads\"", 5s)) << ecli.out();  // the first interval's snapshot
  ASSERT_EQ(write(again[1], "g", 1), 1);
  reader.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // one more interval
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  snapshots = json_lines(ecli.out());
}

uint64_t bucket(const nlohmann::json& snapshot, int64_t low) {
  for (auto& b : snapshot["buckets"])
    if (b["low"] == low) return b["count"];
  return 0;
}

TEST(Sampling, LinearBucketsHoldTheSizesRead) {
  REQUIRE_ROOT();
  std::vector<nlohmann::json> snapshots;
  reads_in_two_intervals(false, snapshots);
  ASSERT_GE(snapshots.size(), 2u);
  const auto& first = snapshots.front();
  EXPECT_EQ(bucket(first, 512), 50u) << first.dump();  // 600-byte reads: [512, 1023]
  EXPECT_EQ(bucket(first, 1536), 0u);
  const auto& last = snapshots.back();
  EXPECT_EQ(bucket(last, 512), 50u) << last.dump();    // accumulated
  EXPECT_EQ(bucket(last, 1536), 30u) << last.dump();   // 2000-byte reads: [1536, 2047]
  EXPECT_EQ(last["comm"].is_string(), true);
}

TEST(Sampling, ClearMapKeepsEachIntervalToItself) {
  REQUIRE_ROOT();
  std::vector<nlohmann::json> snapshots;
  reads_in_two_intervals(true, snapshots);
  ASSERT_GE(snapshots.size(), 2u);
  EXPECT_EQ(bucket(snapshots.front(), 512), 50u) << snapshots.front().dump();
  uint64_t later_small = 0, later_large = 0;
  for (size_t i = 1; i < snapshots.size(); i++) {
    later_small += bucket(snapshots[i], 512);
    later_large += bucket(snapshots[i], 1536);
  }
  EXPECT_EQ(later_small, 0u);   // the first interval's reads are not counted again
  EXPECT_EQ(later_large, 30u);  // and the second's are counted once
}

TEST(Sampling, SyscountTableShowsTheBusiestProcessFirst) {
  REQUIRE_ROOT();
  Trigger busy([] {
    for (int i = 0; i < 300000; i++) getppid();
  });
  pid_t busy_pid = busy.pid();
  Process ecli(ecli_run({"--top", "3", "-d", "20", example_package("syscount")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  busy.go();
  busy.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ecli.signal(SIGINT);  // the last snapshot includes the whole burst
  ASSERT_EQ(ecli.wait_exit(), 0);
  std::string out = ecli.out();
  size_t header = out.rfind("TIME     PID     SYSCALLS   FAILED     COMM\n");
  ASSERT_NE(header, std::string::npos) << out;
  std::string first_row = out.substr(header + 44, out.find('\n', header + 44) - header - 44);
  EXPECT_EQ(first_row.substr(9, 8), fmt::format("{:<7} ", busy_pid)) << out;
  // --top 3: at most three rows after the last header.
  EXPECT_LE(std::count(out.begin() + header, out.end(), '\n'), 4) << out;
}

TEST(Sampling, EachMapOnItsOwnIntervalAndALastSnapshotAtExit) {
  REQUIRE_ROOT();
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"--json", "-d", "2.2", test_package("two_samples"), "--target", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_EQ(ecli.wait_exit(10s), 0);
  int fast = 0, slow = 0;
  for (auto& j : json_lines(ecli.out())) {
    (j["map"] == "fast" ? fast : slow)++;
    EXPECT_EQ(j["value"], 1) << j.dump();
  }
  EXPECT_GE(fast, 7);  // 300 ms intervals in 2.2 s, plus the last
  EXPECT_LE(fast, 9);
  EXPECT_EQ(slow, 3);  // at 1 s, 2 s, and at exit
}

TEST(Sampling, ALongIntervalStillPrintsOnceAtExit) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string package = with_sample(example_package("syscount"), "syscalls",
                                    {{"interval", 600000}, {"type", "default_kv"}, {"sort_by", "syscalls"}}, dir);
  Process ecli(ecli_run({package}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ecli.signal(SIGTERM);
  ASSERT_EQ(ecli.wait_exit(), 0);
  EXPECT_NE(ecli.out().find("TIME     PID     SYSCALLS"), std::string::npos) << ecli.out();
}

TEST(Sampling, ABadSampleInAForeignPackageIsNamedAndTheRestRuns) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string package = with_sample(test_package("two_samples"), "slow", {{"type", "pie"}}, dir);
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"--json", "-d", "1", package, "--target", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_EQ(ecli.wait_exit(10s), 0);
  EXPECT_NE(ecli.err().find("ecli: map 'slow' is not sampled: @sample type \"pie\" is not one of log2_hist, "
                            "linear_hist, default_kv"),
            std::string::npos)
      << ecli.err();
  EXPECT_NE(ecli.out().find("\"map\":\"fast\""), std::string::npos) << ecli.out();
  EXPECT_EQ(ecli.out().find("\"map\":\"slow\""), std::string::npos) << ecli.out();
}

}  // namespace
}  // namespace ecli::test
