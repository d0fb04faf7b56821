// perf_event programs and -c: a libbpf-tools style sampler
// (tests/data/cpu_samples.bpf.c) attached to cpu-clock on each CPU, limited
// to a command that ecli starts, and stopped when that command ends.
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

// About half a second of CPU in one process (the shell runs the loop itself).
const std::string kBusy = "sh -c 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done'";

// perf_event links that exist now (bpftool's "perf_event" link type).
int perf_event_links() {
  Result r = run({"bpftool", "-j", "link", "show"});
  if (r.code != 0) return -1;
  int n = 0;
  for (const auto& link : nlohmann::json::parse(r.out))
    if (link.value("type", std::string()) == "perf_event") n++;
  return n;
}

// `ecli run --json OPTIONS cpu_samples -c kBusy`; the rows of `counts`.
struct Sampled {
  Result result;
  std::vector<nlohmann::json> counts;
};
Sampled sample_busy_command(std::vector<std::string> options) {
  std::vector<std::string> args = {"--json"};
  args.insert(args.end(), options.begin(), options.end());
  // Kept on CPU 0, so that --cpu 0 sees it too.
  args.insert(args.end(), {"-c", "taskset -c 0 " + kBusy, test_package("cpu_samples")});
  Sampled s{run(ecli_run(args), 30s), {}};
  if (s.result.code == 0) s.counts = rows_of(s.result.out, "counts");
  return s;
}

// The command's pid, from "ecli: command (pid N) exited...".
std::string command_pid(const std::string& err) {
  const std::string prefix = "ecli: command (pid ";
  size_t at = err.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  return err.substr(at, err.find(')', at) - at);
}

// The JSON lines of `out` that the command did not print.
std::vector<nlohmann::json> json_rows(const std::string& out, const std::string& map) {
  std::vector<nlohmann::json> rows;
  for (const auto& line : split_lines(out))
    if (line.starts_with("{") && nlohmann::json::parse(line).value("map", std::string()) == map)
      rows.push_back(nlohmann::json::parse(line));
  return rows;
}

TEST(Profiling, CommandIsSampledAloneAndItsEndStopsTheRun) {
  REQUIRE_ROOT();
  auto start = std::chrono::steady_clock::now();
  Sampled s = sample_busy_command({});
  ASSERT_EQ(s.result.code, 0) << s.result.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);  // no -d: the command's end ended it
  EXPECT_NE(s.result.err.find("attached do_sample to cpu-clock at 49 Hz on"), std::string::npos) << s.result.err;
  EXPECT_NE(s.result.err.find(") exited with status 0\n"), std::string::npos) << s.result.err;
  std::string pid = command_pid(s.result.err);
  ASSERT_FALSE(pid.empty()) << s.result.err;
  ASSERT_EQ(s.counts.size(), 1u) << s.result.out;  // the filter kept every other process out
  EXPECT_EQ(s.counts[0]["key"].dump(), pid) << s.result.out;
  EXPECT_GT(s.counts[0]["value"].get<int64_t>(), 0) << s.result.out;
}

TEST(Profiling, FrequencyPeriodAndCpuOptionsSample) {
  REQUIRE_ROOT();
  for (const auto& options : std::vector<std::vector<std::string>>{
           {"-F", "99"}, {"--period", "1000000"}, {"--cpu", "0"}, {"--event", "task-clock"}}) {
    std::string label = fmt::format("{}", fmt::join(options, " "));
    Sampled s = sample_busy_command(options);
    ASSERT_EQ(s.result.code, 0) << label << "\n" << s.result.err;
    ASSERT_EQ(s.counts.size(), 1u) << label << "\n" << s.result.out << s.result.err;
    EXPECT_GT(s.counts[0]["value"].get<int64_t>(), 0) << label;
  }
  Sampled f = sample_busy_command({"-F", "99", "--cpu", "0"});
  EXPECT_NE(f.result.err.find("attached do_sample to cpu-clock at 99 Hz on 1 CPU\n"), std::string::npos)
      << f.result.err;
  Sampled p = sample_busy_command({"--period", "1000000"});
  EXPECT_NE(p.result.err.find("to cpu-clock every 1000000 ns"), std::string::npos) << p.result.err;
}

TEST(Profiling, HardwareEventWithoutCountersSuggestsCpuClockAndLeavesNothingAttached) {
  REQUIRE_ROOT();
  if (access("/sys/bus/event_source/devices/cpu", F_OK) == 0)
    GTEST_SKIP() << "this machine has hardware performance counters";
  int before = perf_event_links();
  Result r = run(ecli_run({"--event", "cycles", "-c", kBusy, test_package("cpu_samples")}), 30s);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("hardware performance counters"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--event cpu-clock"), std::string::npos) << r.err;
  EXPECT_EQ(perf_event_links(), before);
}

TEST(Profiling, BadOptionsAreOneLineErrorsBeforeAnythingLoads) {
  REQUIRE_ROOT();
  std::string package = test_package("cpu_samples");
  struct Case {
    std::vector<std::string> options;
    std::string message;
  };
  for (const auto& c : std::vector<Case>{
           {{"--event", "nosuch"}, "unknown event 'nosuch'; software events: cpu-clock task-clock"},
           {{"--cpu", "99999"}, "--cpu 99999: there is no CPU 99999"},
           {{"--cpu", "1-x"}, "is not a CPU list"},
           {{"-F", "0"}, "must be more than 0 Hz"},
           {{"-F", "100000000"}, "perf_event_max_sample_rate"},
           {{"-F", "99", "--period", "1000"}, "excludes"},
           {{"-c", "nosuch-command-xyz --flag"}, "cannot run 'nosuch-command-xyz': not found in PATH"},
           {{"-c", "echo a | wc"}, "shell syntax"},
           {{"-c", "true", "-p", "1"}, "excludes"},
       }) {
    std::vector<std::string> args = c.options;
    args.push_back(package);
    Result r = run(ecli_run(args), 30s);
    std::string label = fmt::format("{}", fmt::join(c.options, " "));
    EXPECT_NE(r.code, 0) << label;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << label << "\n" << r.err;
    EXPECT_EQ(r.err.find("attached"), std::string::npos) << label << "\n" << r.err;
    EXPECT_EQ(split_lines(r.err).size(), 1u) << label << "\n" << r.err;
  }
}

TEST(Profiling, CommandOutputGoesToTheTerminalItInherits) {
  REQUIRE_ROOT();
  Result r = run(ecli_run({"-c", "echo hello-from-child 'two words'", test_package("cpu_samples")}), 30s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("hello-from-child two words\n"), std::string::npos) << r.out;
}

TEST(Profiling, UprobeWithoutBinaryGoesToTheCommandsProgram) {
  REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "work.c",
             "#include <stdio.h>\n"
             "__attribute__((noinline)) int work(int i) { return i * 2; }\n"
             "int main(void) { int s = 0; for (int i = 0; i < 5; i++) s += work(i); printf(\"sum %d\\n\", s); }\n");
  Result cc = run({"cc", "-O1", "-o", (dir / "work").string(), (dir / "work.c").string()});
  ASSERT_EQ(cc.code, 0) << cc.err;
  Result r = run(ecli_run({"--json", "-c", (dir / "work").string(), test_package("command_uprobe")}), 30s);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("sum 20\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(fmt::format("to uprobe {}:work (pid ", (dir / "work").string())), std::string::npos) << r.err;
  auto calls = json_rows(r.out, "calls");
  ASSERT_EQ(calls.size(), 1u) << r.out;
  EXPECT_EQ(calls[0]["calls"], 5) << r.out;
}

TEST(Profiling, DurationEndsTheCommandFirst) {
  REQUIRE_ROOT();
  auto start = std::chrono::steady_clock::now();
  Result r = run(ecli_run({"-d", "0.5", "-c", "sleep 30", test_package("cpu_samples")}), 30s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_NE(r.err.find(") was killed by signal 15 (Terminated)\n"), std::string::npos) << r.err;
}

TEST(Profiling, CtrlCEndsTheCommandAndPrintsTheResults) {
  REQUIRE_ROOT();
  // Busy, then asleep as the same process (a grandchild would keep ecli's output open).
  const std::string command = "taskset -c 0 sh -c 'i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; exec sleep 30'";
  Process ecli(ecli_run({"--json", "-c", command, test_package("cpu_samples")}));
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  std::this_thread::sleep_for(700ms);
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(10s), 0) << ecli.err();
  EXPECT_NE(ecli.err().find(") was killed by signal 15 (Terminated)\n"), std::string::npos) << ecli.err();
  EXPECT_EQ(rows_of(ecli.out(), "counts").size(), 1u) << ecli.out();
}

TEST(Profiling, PerfAnnotationChoosesTheFrequencyAndOptionsWin) {
  REQUIRE_ROOT();
  std::string package = test_package("cpu_samples_99hz");
  Result r = run(ecli_run({"-d", "0.3", package}), 30s);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("attached sample_99 to cpu-clock at 99 Hz on"), std::string::npos) << r.err;
  Result o = run(ecli_run({"-d", "0.3", "-F", "11", package}), 30s);
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.err.find("attached sample_99 to cpu-clock at 11 Hz on"), std::string::npos) << o.err;
}

TEST(Profiling, MalformedPerfAnnotationIsOneWarningAndTheDefaultsApply) {
  REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "bad_perf.bpf.c",
             "#include <vmlinux.h>\n"
             "#include <bpf/bpf_helpers.h>\n"
             "__u64 samples = 0;\n"
             "/// @perf {\"frequency\": \"fast\"}\n"
             "SEC(\"perf_event\")\n"
             "int bad_perf(void *ctx) { __sync_fetch_and_add(&samples, 1); return 0; }\n"
             "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
  Result r = run(ecli_run({"-d", "0.2", (dir / "bad_perf.bpf.c").string()}), 60s);
  EXPECT_EQ(r.code, 0) << r.err;
  size_t warnings = 0;
  for (const auto& line : split_lines(r.err)) warnings += line.find("warning") != std::string::npos;
  EXPECT_EQ(warnings, 1u) << r.err;
  EXPECT_NE(r.err.find("@perf"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("attached bad_perf to cpu-clock at 49 Hz on"), std::string::npos) << r.err;
}

TEST(Profiling, HeldCommandIsReapedWhenLoadingFails) {
  REQUIRE_ROOT();
  auto start = std::chrono::steady_clock::now();
  Result r = run(ecli_run({"-c", "sleep 30", test_package("reject")}), 30s);
  EXPECT_NE(r.code, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // nothing waited for the command
  EXPECT_EQ(r.err.find("running"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ecli::test
