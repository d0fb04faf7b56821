// Stacks and profiling (issue 10), against the real kernel: C programs built
// here with known function names are profiled, watched while they sleep and
// while they leak, through ecli's -c; the stacks must name those functions in
// folded output, in tables, in JSON and in the SVG flame graph.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

// Built -O0 with frame pointers, so that the kernel can walk the user stack,
// and each function is a frame of its own.
const char* kTarget = R"(#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long sink;

__attribute__((noinline)) void inner_loop(void) {
  for (unsigned long i = 0; i < 2000000; i++) sink += i * i;
}

__attribute__((noinline)) void burn_cpu(double seconds) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    inner_loop();
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
}

// libc is built without frame pointers, so the frame that calls into it
// directly is skipped by the kernel's frame-pointer walk: the functions the
// tests look for call libc through a helper of their own.
__attribute__((noinline)) long ask_parent(void) { return getppid(); }

__attribute__((noinline)) void nap(void) { usleep(100000); }

__attribute__((noinline)) void syscall_loop(double seconds) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    for (int i = 0; i < 1000; i++) sink += ask_parent();
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
}

__attribute__((noinline)) void sleepy_wait(int naps) {
  for (int i = 0; i < naps; i++) nap();
}

__attribute__((noinline)) void leaky_function(void) {
  for (int i = 0; i < 64; i++) {
    char* p = malloc(1000 + i);
    memset(p, 1, 1000);
    sink += (unsigned long)p;  /* never freed, on purpose */
  }
}

__attribute__((noinline)) void tidy_function(void) {
  for (int i = 0; i < 64; i++) {
    char* p = malloc(2000 + i);
    memset(p, 1, 2000);
    free(p);
  }
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "burn";
  if (!strcmp(what, "burn")) burn_cpu(1.0);
  else if (!strcmp(what, "syscalls")) syscall_loop(1.0);
  else if (!strcmp(what, "sleep")) sleepy_wait(5);
  else if (!strcmp(what, "longsleep")) {
    /* The naps start on SIGUSR1, sent once the tracer runs: a slow start
       (a loaded machine, ASan) must not miss them. */
    sigset_t go;
    int sig;
    sigemptyset(&go);
    sigaddset(&go, SIGUSR1);
    sigprocmask(SIG_BLOCK, &go, NULL);
    puts("ready");
    fflush(stdout);
    sigwait(&go, &sig);
    sleepy_wait(15);
  }
  else if (!strcmp(what, "leak")) { leaky_function(); tidy_function(); usleep(200000); }
  return 0;
}
)";

// The target, built once per test run (a stripped copy beside it).
const fs::path& target_binary() {
  static TempDir dir;
  static fs::path binary = [] {
    fs::path source = dir / "stacktarget.c", out = dir / "stacktarget";
    write_text(source, kTarget);
    Result r = run({"gcc", "-O0", "-g", "-fno-omit-frame-pointer", "-fno-inline", "-o", out.string(), source.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    fs::copy_file(out, dir / "stripped", fs::copy_options::overwrite_existing);
    EXPECT_EQ(run({"strip", "-s", (dir / "stripped").string()}).code, 0);
    return out;
  }();
  return binary;
}

std::string command(const std::string& what, const fs::path& binary = target_binary()) {
  return binary.string() + " " + what;
}

// ecli run ARGS, which must stop by itself when the command does.
Result run_to_end(std::vector<std::string> args) {
  std::vector<std::string> argv = {ecli_bin(), "run"};
  argv.insert(argv.end(), args.begin(), args.end());
  Result r = run(argv, std::chrono::seconds(60));
  EXPECT_EQ(r.code, 0) << r.err;
  return r;
}

// The count of the folded lines that contain `part` (all of them added up).
uint64_t folded_count(const std::string& out, const std::string& part) {
  uint64_t total = 0;
  for (const auto& line : split_lines(out)) {
    size_t space = line.rfind(' ');
    if (space == std::string::npos || line.find(part) == std::string::npos) continue;
    total += std::strtoull(line.c_str() + space + 1, nullptr, 10);
  }
  return total;
}

TEST(Stacks, ProfileOfACommandFoldsItsFunctionsOuterToInner) {
  REQUIRE_ROOT();
  Result r = run_to_end({"-F", "199", "--folded", "-c", command("burn"), example_package("profile")});
  EXPECT_GT(folded_count(r.out, "burn_cpu;inner_loop"), 10u) << r.out << r.err;
  // The comm comes first, and main calls burn_cpu.
  EXPECT_GT(folded_count(r.out, "stacktarget;"), 0u) << r.out;
  EXPECT_GT(folded_count(r.out, ";main;burn_cpu;inner_loop"), 0u) << r.out;
  // Only the command was profiled: every line starts with its comm.
  for (const auto& line : split_lines(r.out)) {
    if (line.empty()) continue;
    EXPECT_TRUE(line.starts_with("stacktarget;")) << line;
  }
}

TEST(Stacks, ProfileOfASyscallLoopHasKernelFramesBelowTheUserOnes) {
  REQUIRE_ROOT();
  Result r = run_to_end({"-F", "199", "--folded", "-c", command("syscalls"), example_package("profile")});
  // User frames first (outermost), then the kernel's entry and what it called.
  EXPECT_GT(folded_count(r.out, "syscall_loop;"), 0u) << r.out;
  bool kernel_below = false;
  for (const auto& line : split_lines(r.out))
    if (line.find("syscall_loop") != std::string::npos && line.find("entry_SYSCALL_64") > line.find("syscall_loop") &&
        line.find("entry_SYSCALL_64") != std::string::npos)
      kernel_below = true;
  EXPECT_TRUE(kernel_below) << r.out;
}

TEST(Stacks, TablePrintsFramesUnderEachRowAndJsonGivesFrameObjects) {
  REQUIRE_ROOT();
  Result table = run_to_end({"-F", "199", "-c", command("burn"), example_package("profile")});
  EXPECT_NE(table.out.find("    inner_loop+0x"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("[stacktarget]"), std::string::npos) << table.out;

  Result json = run_to_end({"-F", "199", "-j", "-c", command("burn"), example_package("profile")});
  auto rows = rows_of(json.out, "counts");
  ASSERT_FALSE(rows.empty()) << json.out;
  bool found = false;
  for (const auto& row : rows) {
    const auto& user = row["user_stack_id"];
    if (!user.is_array()) continue;
    for (const auto& frame : user) {
      EXPECT_TRUE(frame.contains("address")) << frame;
      if (frame.value("symbol", "") == "inner_loop") {
        found = true;
        EXPECT_EQ(frame.value("module", ""), "stacktarget") << frame;
        EXPECT_TRUE(frame.contains("offset")) << frame;
      }
    }
  }
  EXPECT_TRUE(found) << json.out;
}

TEST(Stacks, LinesOptionGivesSourceFileAndLine) {
  REQUIRE_ROOT();
  Result r = run_to_end({"-F", "199", "--lines", "-c", command("burn"), example_package("profile")});
  EXPECT_NE(r.out.find("stacktarget.c:"), std::string::npos) << r.out;
}

TEST(Stacks, FlameGraphIsXmlAndNamesTheFunctions) {
  REQUIRE_ROOT();
  TempDir dir;
  fs::path svg = dir / "profile.svg";
  Result r = run_to_end({"-F", "199", "--flamegraph", svg.string(), "-c", command("burn"), example_package("profile")});
  EXPECT_NE(r.err.find("wrote a flame graph"), std::string::npos) << r.err;
  Result lint = run({"xmllint", "--noout", svg.string()});
  EXPECT_EQ(lint.code, 0) << lint.err;
  std::string text = read_text(svg);
  EXPECT_NE(text.find("burn_cpu"), std::string::npos);
  EXPECT_NE(text.find("inner_loop"), std::string::npos);
}

TEST(Stacks, FlameGraphToAnUnwritablePathFailsBeforeAnythingIsAttached) {
  REQUIRE_ROOT();
  Result r = run({ecli_bin(), "run", "--flamegraph", "/nonexistent-dir/x.svg", example_package("profile")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("cannot write the flame graph to /nonexistent-dir/x.svg"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(run({"bpftool", "prog", "show"}).out.find("do_perf_event"), std::string::npos);
}

TEST(Stacks, StrippedBinaryFramesPrintAsModuleOffsets) {
  REQUIRE_ROOT();
  fs::path stripped = target_binary().parent_path() / "stripped";
  Result r = run_to_end({"-F", "199", "--folded", "-c", command("burn", stripped), example_package("profile")});
  EXPECT_GT(folded_count(r.out, "stripped+0x"), 0u) << r.out;
}

TEST(Stacks, OffCpuTimeIsAttributedToTheFunctionThatSlept) {
  REQUIRE_ROOT();
  Result r = run_to_end({"--folded", "-c", command("sleep"), example_package("offcputime")});
  // Five sleeps of 100 ms, in microseconds.
  EXPECT_GT(folded_count(r.out, "sleepy_wait;"), 400000u) << r.out << r.err;
  EXPECT_LT(folded_count(r.out, "sleepy_wait;"), 2000000u) << r.out;
}

TEST(Stacks, AProcessGivenByPidThatExitsBeforeThePrintStillResolves) {
  REQUIRE_ROOT();
  std::string package = example_package("offcputime");
  Process target({target_binary().string(), "longsleep"});  // on SIGUSR1: 1.5 s of naps, then gone
  ASSERT_TRUE(target.wait_stdout("ready"));
  Process ecli({ecli_bin(), "run", "--folded", "-p", std::to_string(target.pid()), package});
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  target.signal(SIGUSR1);
  ASSERT_TRUE(target.wait_exit().has_value());
  ecli.signal(SIGINT);  // the print comes after the process is gone
  ASSERT_EQ(ecli.wait_exit(), 0) << ecli.err();
  EXPECT_GT(folded_count(ecli.out(), "sleepy_wait;"), 100000u) << ecli.out() << ecli.err();
}

TEST(Stacks, MallocStacksFindTheFunctionThatLeaks) {
  REQUIRE_ROOT();
  Result r = run_to_end({"-j", "-c", command("leak"), example_package("mallocstacks")});
  auto rows = rows_of(r.out, "outstanding");
  uint64_t leaked = 0;
  bool tidy = false;
  for (const auto& row : rows) {
    std::string frames = row["user_stack_id"].dump();
    if (frames.find("leaky_function") != std::string::npos) leaked += row["bytes"].get<uint64_t>();
    tidy |= frames.find("tidy_function") != std::string::npos;
  }
  EXPECT_GE(leaked, 64u * 1000) << r.out;
  EXPECT_FALSE(tidy) << "every allocation of tidy_function was freed\n" << r.out;
}

TEST(Stacks, AFullStackMapIsCountedAndSaidOnce) {
  REQUIRE_ROOT();
  Result r = run_to_end(
      {"-F", "199", "--max-entries", "stackmap=2", "-c", command("syscalls"), example_package("profile")});
  EXPECT_NE(r.out.find("[lost: no room in the stack map 'stackmap' (-EEXIST)]"), std::string::npos) << r.out;
  size_t warning = r.err.find("stacks were lost: no room in the stack map 'stackmap'");
  EXPECT_NE(warning, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("stacks were lost", warning + 1), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--max-entries stackmap=N"), std::string::npos) << r.err;
}

// Whether a JSON stack (an array of frames) names `symbol`.
bool names(const nlohmann::json& stack, const std::string& symbol) {
  if (!stack.is_array()) return false;
  return std::any_of(stack.begin(), stack.end(), [&](const nlohmann::json& f) { return f.value("symbol", "") == symbol; });
}

TEST(Stacks, EventsCarryingStackArraysPrintTheirFrames) {
  REQUIRE_ROOT();
  Result r = run_to_end({"-F", "99", "-j", "-c", command("burn"), test_package("event_stacks")});
  auto events = json_lines(r.out);
  ASSERT_FALSE(events.empty()) << r.err;
  size_t inner = 0;
  for (const auto& e : events) {
    EXPECT_TRUE(e["kstack"].is_array()) << e;
    inner += names(e["ustack"], "inner_loop");
  }
  EXPECT_GT(inner, 5u) << r.out;
  // Folded, each event counts once.
  Result folded = run_to_end({"-F", "99", "--folded", "-c", command("burn"), test_package("event_stacks")});
  EXPECT_GT(folded_count(folded.out, "burn_cpu;inner_loop"), 5u) << folded.out << folded.err;
}

TEST(Stacks, PackagesWithoutStackFieldsAreReadByFieldNames) {
  REQUIRE_ROOT();
  // As a package from eunomia's ecc, or one made before ecc wrote stack_fields.
  TempDir dir;
  for (const std::string name : {"profile", "event_stacks"}) {
    auto package = nlohmann::json::parse(read_text(name == "profile" ? example_package(name) : test_package(name)));
    ASSERT_TRUE(package["meta"].contains("stack_fields"));
    package["meta"].erase("stack_fields");
    fs::path path = dir / (name + ".json");
    write_text(path, package.dump());
    Result r = run_to_end({"-F", "99", "--folded", "-c", command("burn"), path.string()});
    EXPECT_GT(folded_count(r.out, "burn_cpu;inner_loop"), 5u) << name << "\n" << r.out << r.err;
  }
}

TEST(Stacks, BuildIdStacksResolveThroughTheBinaryOfTheBuildId) {
  REQUIRE_ROOT();
  Result r = run_to_end({"-F", "199", "--folded", "-c", command("burn"), test_package("build_id_stacks")});
  // The kernel reads the build-id when the page is present; either way some
  // frames of the target resolve (the rest as offsets or addresses).
  EXPECT_GT(folded_count(r.out, "inner_loop"), 0u) << r.out << r.err;
}

}  // namespace
}  // namespace ecli::test
