// Results printed without annotations: a kernel half in the style of
// libbpf-tools' counter and histogram tools (tests/data/getppid_results.bpf.c)
// prints, at exit and every --interval, what its user space would have.
#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

// Runs getppid_results on a child that calls getppid() `calls` times, pauses
// `pause` and does it again; returns what ecli printed once it stopped.
std::string run_results(std::vector<std::string> options, int calls, std::chrono::milliseconds pause = 0ms) {
  Trigger caller([calls, pause] {
    for (int i = 0; i < calls; i++) getppid();
    if (pause.count()) {
      std::this_thread::sleep_for(pause);
      for (int i = 0; i < calls; i++) getppid();
    }
  });
  std::vector<std::string> args = {"--json", "-d", "20"};
  args.insert(args.end(), options.begin(), options.end());
  args.insert(args.end(), {test_package("getppid_results"), "--targ_tgid", std::to_string(caller.pid())});
  Process ecli(ecli_run(args));
  EXPECT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  EXPECT_TRUE(caller.wait());
  std::this_thread::sleep_for(50ms);
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
  EXPECT_EQ(ecli.err().find("warning"), std::string::npos) << ecli.err();
  return ecli.out();
}

TEST(Results, MapsAndGlobalsTheProgramsFillPrintAtExitAndStateStaysQuiet) {
  REQUIRE_ROOT();
  std::string out = run_results({}, 5);

  auto counts = rows_of(out, "counts");  // hash: pid -> calls
  ASSERT_EQ(counts.size(), 1u) << out;
  EXPECT_EQ(counts[0]["value"], 5) << out;

  auto hists = rows_of(out, "hists");  // a log2 histogram per comm, every call in it
  ASSERT_EQ(hists.size(), 1u) << out;
  EXPECT_EQ(hists[0]["total"], 5) << out;
  EXPECT_EQ(hists[0]["key"]["comm"], "kernel_tests") << out;

  auto slots = rows_of(out, "latency_slots");  // a value that is an array of buckets: a histogram too
  ASSERT_EQ(slots.size(), 1u) << out;
  EXPECT_EQ(slots[0]["total"], 5) << out;

  auto per_cpu = rows_of(out, "percpu_calls");  // summed over CPUs
  ASSERT_EQ(per_cpu.size(), 1u) << out;
  EXPECT_EQ(per_cpu[0]["value"], 5) << out;

  auto kinds = rows_of(out, "calls_by_kind");  // a .bss array sized by an enum's count
  ASSERT_EQ(kinds.size(), 2u) << out;
  for (auto& row : kinds) EXPECT_EQ(row["calls_by_kind"], 5) << out;
  std::vector<std::string> names = {kinds[0]["index"], kinds[1]["index"]};
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"KIND_ENTER", "KIND_EXIT"})) << out;

  auto total = rows_of(out, "total_calls");  // a .bss counter
  ASSERT_EQ(total.size(), 1u) << out;
  EXPECT_EQ(total[0]["total_calls"], 5) << out;

  EXPECT_TRUE(rows_of(out, "start").empty()) << out;      // deleted from: state between programs
  EXPECT_TRUE(rows_of(out, "targ_tgid").empty()) << out;  // only read: an option
}

TEST(Results, IntervalPrintsMoreThanOnceAndClearMakesIntervalsIndependent) {
  REQUIRE_ROOT();
  std::string out = run_results({"-i", "0.5", "--clear"}, 3, 1200ms);
  auto total = rows_of(out, "total_calls");
  int prints = 0, sum = 0, largest = 0;
  for (auto& row : total) {
    prints++;
    sum += row["total_calls"].get<int>();
    largest = std::max(largest, row["total_calls"].get<int>());
  }
  EXPECT_GE(prints, 2) << out;
  EXPECT_EQ(sum, 6) << out;  // each call counted in exactly one interval
  EXPECT_EQ(largest, 3) << out;

  std::string cumulative = run_results({"-i", "0.5"}, 3, 1200ms);
  int last = 0;
  for (auto& row : rows_of(cumulative, "total_calls")) last = row["total_calls"].get<int>();
  EXPECT_EQ(last, 6) << cumulative;  // without --clear the last print has everything
}

TEST(Results, PerCpuShowsEachCpuInsteadOfTheSum) {
  REQUIRE_ROOT();
  std::string out = run_results({"--per-cpu"}, 4);
  auto rows = rows_of(out, "percpu_calls");
  ASSERT_FALSE(rows.empty()) << out;
  int sum = 0;
  for (auto& row : rows) {
    ASSERT_TRUE(row.contains("cpu")) << row;  // the key is the map's key and the CPU
    sum += row["value"].get<int>();
  }
  EXPECT_EQ(sum, 4) << out;
}

}  // namespace
}  // namespace ecli::test
