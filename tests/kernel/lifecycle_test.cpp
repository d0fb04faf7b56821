// Running, stopping and cleaning up: help, signals, duration, run-from-source,
// typed globals, the trace stream, compatibility with hand-made packages.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

bool trace_instance_exists(pid_t pid) {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (fs::exists(fmt::format("{}/instances/ecli-{}", root, pid))) return true;
  return false;
}

// Names of loaded BPF programs, from bpftool.
std::string loaded_programs() { return run({"bpftool", "prog", "show"}).out; }

TEST(Lifecycle, HelpPrintsGeneratedOptionsOnStdout) {
  std::string package = test_package("globals");
  Result r = run(ecli_run({package, "--help"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  for (const char* text : {"Show the globals the command line set", "Version: 2.5", "--target pid_t [0]",
                           "Process to report (the test's trigger)", "--small __u8 [0]", "--name char[8] [none]",
                           "--flag [false]", "--color enum color [RED]", "-n,--number int [42]",
                           "a number with a default", "--data_value int [7]", "A value in .data",
                           "--bss_value __u32 [0]"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
}

TEST(Lifecycle, TypedGlobalsReachTheProgram) {
  REQUIRE_ROOT();
  std::string package = test_package("globals");
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"-d", "20", package, "--target", std::to_string(caller.pid()),
                         "--small", "0xff", "--medium", "-32768", "--big", "18446744073709551615", "--ul", "123456789012",
                         "--user", "4294967295", "--flag", "--color", "BLUE", "--name", "seven77", "--data_value", "-5",
                         "--bss_value", "77"}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  EXPECT_TRUE(ecli.wait_stdout("bss=77 default=42")) << ecli.out() << ecli.err();
  std::string out = ecli.out();
  for (const char* text : {"small=255 medium=-32768 big=18446744073709551615", "ul=123456789012 user=4294967295 flag=1",
                           "color=40 name=seven77 data=-5"})
    EXPECT_NE(out.find(text), std::string::npos) << text << "\n" << out;
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Lifecycle, EnumByNumberAndCmdargShortName) {
  REQUIRE_ROOT();
  std::string package = test_package("globals");
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"-d", "20", package, "--target", std::to_string(caller.pid()),
                         "--color", "2", "-n", "-9", "--flag=false"}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  EXPECT_TRUE(ecli.wait_stdout("bss=0 default=-9")) << ecli.out() << ecli.err();
  EXPECT_NE(ecli.out().find("color=2 name=none data=7"), std::string::npos) << ecli.out();
  EXPECT_NE(ecli.out().find("flag=0"), std::string::npos) << ecli.out();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Lifecycle, SigintDetachesEverythingAndExitsZero) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({example_package("sigsnoop-printk")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  EXPECT_TRUE(trace_instance_exists(ecli.pid()));
  EXPECT_NE(loaded_programs().find("tgkill_entry"), std::string::npos);
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(5s), 0);
  EXPECT_FALSE(trace_instance_exists(ecli.pid()));
  EXPECT_EQ(loaded_programs().find("tgkill_entry"), std::string::npos);
}

// Fds of the tracepoint programs that process `pid` holds (from its fdinfo);
// holding them keeps the programs (not their attachments) alive after it exits.
std::vector<int> tracepoint_programs_of(pid_t pid) {
  std::vector<int> fds;
  for (const auto& entry : fs::directory_iterator(fmt::format("/proc/{}/fd", pid))) {
    std::error_code error;
    if (fs::read_symlink(entry.path(), error) != "anon_inode:bpf-prog") continue;
    std::ifstream info(fmt::format("/proc/{}/fdinfo/{}", pid, entry.path().filename().string()));
    std::string key;
    __u32 id = 0;
    while (info >> key && key != "prog_id:") {
    }
    if (!(info >> id)) continue;
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    struct bpf_prog_info prog {};
    __u32 length = sizeof(prog);
    if (bpf_obj_get_info_by_fd(fd, &prog, &length) == 0 && prog.type == BPF_PROG_TYPE_TRACEPOINT)
      fds.push_back(fd);
    else
      close(fd);
  }
  return fds;
}

// How often the programs ran, while BPF_ENABLE_STATS is on.
uint64_t total_runs(const std::vector<int>& programs) {
  uint64_t total = 0;
  for (int fd : programs) {
    struct bpf_prog_info info {};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0) total += info.run_cnt;
  }
  return total;
}

void open_dev_null(int times) {
  for (int i = 0; i < times; ++i) close(open("/dev/null", O_RDONLY));
}

// ecli hands the perf events behind its tracepoint links to the kernel to
// free after it exits (runtime/perf_event_release.hpp); the programs must be
// off their tracepoints before it exits all the same.
TEST(Lifecycle, NoProgramRunsOnceEcliHasExited) {
  REQUIRE_ROOT();
  int stats = bpf_enable_stats(BPF_STATS_RUN_TIME);  // on while this fd is open
  ASSERT_GE(stats, 0) << std::strerror(errno);
  Process ecli(ecli_run({example_package("opensnoop")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  std::vector<int> programs = tracepoint_programs_of(ecli.pid());
  EXPECT_EQ(programs.size(), 4u) << "opensnoop's four tracepoint programs";
  open_dev_null(100);
  EXPECT_GE(total_runs(programs), 200u) << "an enter and an exit per open";
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(5s), 0) << ecli.err();
  uint64_t at_exit = total_runs(programs);
  open_dev_null(100);
  EXPECT_EQ(total_runs(programs), at_exit) << "a program ran after ecli had exited";
  for (int fd : programs) close(fd);
  close(stats);
}

// Perf events alive in the kernel, counted by the slab allocator once it has
// given back its per-CPU caches (without the shrink, whole CPU slabs count as
// used); -1 where the kernel does not say (no SLUB sysfs).
long perf_events_in_use() {
  std::ofstream("/sys/kernel/slab/perf_event/shrink") << "1\n";
  std::ifstream in("/sys/kernel/slab/perf_event/objects");
  long count = -1;
  return in >> count ? count : -1;
}

TEST(Lifecycle, TheKernelFreesTheTracepointsPerfEventsAfterExit) {
  REQUIRE_ROOT();
  long baseline = perf_events_in_use();
  if (baseline < 0) GTEST_SKIP() << "no /sys/kernel/slab/perf_event on this kernel to count perf events with";
  constexpr int kRuns = 16;  // 4 tracepoints each: a leak would keep 64 events
  for (int i = 0; i < kRuns; ++i) {
    Process ecli(ecli_run({example_package("opensnoop")}));
    ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
    ecli.signal(SIGINT);
    ASSERT_EQ(ecli.wait_exit(5s), 0) << ecli.err();
  }
  // Each is freed after a grace period, in the kernel's own worker.
  long now = perf_events_in_use();
  for (int i = 0; i < 100 && now > baseline; ++i) {
    std::this_thread::sleep_for(100ms);
    now = perf_events_in_use();
  }
  EXPECT_LE(now, baseline) << "perf events in use: " << baseline << " before " << kRuns << " runs, " << now
                                << " after";
}

TEST(Lifecycle, SigtermAndDurationExitZero) {
  REQUIRE_ROOT();
  Process term(ecli_run({example_package("hello")}));
  ASSERT_TRUE(term.wait_stderr(kRunning)) << term.err();
  term.signal(SIGTERM);
  EXPECT_EQ(term.wait_exit(5s), 0);

  auto start = std::chrono::steady_clock::now();
  Result timed = run(ecli_run({"--duration", "0.5", example_package("hello"), "--pid_filter", "1"}));
  EXPECT_EQ(timed.code, 0) << timed.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(timed.err.find("running for 0.5 s"), std::string::npos) << timed.err;
}

TEST(Lifecycle, FailedAttachLeavesNothingBehind) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({example_package("kprobe-link")}));
  auto code = ecli.wait_exit(5s);
  if (!code) GTEST_SKIP() << "kprobes work on this kernel: nothing fails to attach";
  EXPECT_EQ(*code, 1);
  EXPECT_FALSE(trace_instance_exists(ecli.pid()));
  EXPECT_EQ(loaded_programs().find("do_unlinkat"), std::string::npos);
}

TEST(Lifecycle, NoTracePipeTurnsTheStreamOff) {
  REQUIRE_ROOT();
  Trigger writer([] { (void)!write(open("/dev/null", O_WRONLY), "x", 1); });
  Process ecli(ecli_run({"--no-trace-pipe", "-d", "20", example_package("hello"), "--pid_filter",
                         std::to_string(writer.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  EXPECT_FALSE(trace_instance_exists(ecli.pid()));
  writer.go();
  writer.wait();
  std::this_thread::sleep_for(300ms);
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
  EXPECT_EQ(ecli.out(), "");
}

TEST(Lifecycle, LinesFromBeforeThisRunAreNotShown) {
  REQUIRE_ROOT();
  // A first run makes the kernel put lines for `writer` into the global trace buffer...
  Trigger writer([] {
    int fd = open("/dev/null", O_WRONLY);
    for (int i = 0; i < 5; i++) (void)!write(fd, "x", 1);
    pause();
  });
  std::string filter = std::to_string(writer.pid());
  {
    Process first(ecli_run({example_package("hello"), "--pid_filter", filter}));
    ASSERT_TRUE(first.wait_stderr(kRunning)) << first.err();
    writer.go();
    ASSERT_TRUE(first.wait_stdout("BPF triggered from PID " + filter)) << first.out();
    first.signal(SIGINT);
    ASSERT_EQ(first.wait_exit(), 0);
  }
  // ...which a second run for the same pid must not print as its own.
  Result second = run(ecli_run({"-d", "1", example_package("hello"), "--pid_filter", filter}));
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(second.out, "");
  kill(writer.pid(), SIGKILL);
}

TEST(Lifecycle, RunsSourceDirectlyLeavingTheFolderClean) {
  REQUIRE_ROOT();
  TempDir dir;
  fs::copy_file(example_source("hello"), dir / "hello.bpf.c");
  Trigger writer([] { (void)!write(open("/dev/null", O_WRONLY), "x", 1); });
  Process ecli(ecli_run({"-d", "20", (dir / "hello.bpf.c").string(), "--pid_filter", std::to_string(writer.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning, 30s)) << ecli.err();
  writer.go();
  EXPECT_TRUE(ecli.wait_stdout(fmt::format("BPF triggered from PID {}.", writer.pid()))) << ecli.out();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
  std::vector<std::string> files;
  for (auto& e : fs::directory_iterator(dir.path())) files.push_back(e.path().filename());
  EXPECT_EQ(files, std::vector<std::string>{"hello.bpf.c"});
}

// ecli opens its trace pipe while ecc compiles a source that mentions
// bpf_printk. A source that only mentions it, or a run with --no-trace-pipe,
// has no tracefs instance once it runs, nor after.
TEST(Lifecycle, TracePipeOpenedBesideTheCompileIsDroppedWhenUnused) {
  REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "quiet.bpf.c", "// prints nothing: no bpf_printk here\n" + read_text(example_source("opensnoop")));
  fs::copy_file(example_source("hello"), dir / "hello.bpf.c");
  for (const auto& args : {std::vector<std::string>{"-d", "20", (dir / "quiet.bpf.c").string()},
                           std::vector<std::string>{"--no-trace-pipe", "-d", "20", (dir / "hello.bpf.c").string()}}) {
    Process ecli(ecli_run(args));
    ASSERT_TRUE(ecli.wait_stderr(kRunning, 30s)) << ecli.err();
    EXPECT_FALSE(trace_instance_exists(ecli.pid())) << args[args.size() - 1];
    ecli.signal(SIGINT);
    EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
    EXPECT_FALSE(trace_instance_exists(ecli.pid()));
  }
}

TEST(Lifecycle, HandMadePackageWithNullListsAndUnknownKeysRuns) {
  REQUIRE_ROOT();
  auto j = nlohmann::json::parse(read_text(example_package("hello")));
  j["meta"]["export_types"] = nullptr;
  j["meta"]["bpf_skel"]["maps"] = nullptr;
  j["meta"]["bpf_skel"]["data_sections"][0]["variables"][0]["some_future_key"] = {1, 2};
  j["meta"]["something_new"] = {{"a", 1}};
  j["meta"]["bpf_skel"]["progs"][0]["unknown"] = "x";
  j["another_top_level_key"] = true;
  TempDir dir;
  write_text(dir / "package.json", j.dump());
  Trigger writer([] { (void)!write(open("/dev/null", O_WRONLY), "x", 1); });
  Process ecli(ecli_run({"-d", "20", (dir / "package.json").string(), "--pid_filter", std::to_string(writer.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  writer.go();
  EXPECT_TRUE(ecli.wait_stdout(fmt::format("BPF triggered from PID {}.", writer.pid()))) << ecli.out();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Lifecycle, MountsTracefsInAFreshNetworkNamespace) {
  REQUIRE_ROOT();
  if (run({"ip", "-V"}).code != 0) GTEST_SKIP() << "iproute2 is not installed";
  std::string ns = fmt::format("ecli-test-{}", getpid());
  ASSERT_EQ(run({"ip", "netns", "add", ns}).code, 0);
  struct Cleanup {
    std::string ns;
    ~Cleanup() { run({"ip", "netns", "del", ns}); }
  } cleanup{ns};
  Trigger writer([] { (void)!write(open("/dev/null", O_WRONLY), "x", 1); });
  Process ecli({"ip", "netns", "exec", ns, ecli_bin(), "run", "-d", "20", example_package("hello"), "--pid_filter",
                std::to_string(writer.pid())});
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  writer.go();
  EXPECT_TRUE(ecli.wait_stdout(fmt::format("BPF triggered from PID {}.", writer.pid()))) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Lifecycle, EccWritesPackageAndObjectAndReusesVmlinuxHeader) {
  TempDir out;
  Result first = run({ecc_bin(), "-o", out.path().string(), example_source("opensnoop-printk").string()});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.err.find("Compiling bpf object..."), std::string::npos);
  EXPECT_NE(first.err.find("Packing ebpf object and config into package.json..."), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "package.json"));
  EXPECT_TRUE(fs::exists(out / "opensnoop-printk.bpf.o"));
  fs::path cache = getenv("ECLI_CACHE_DIR");
  std::vector<fs::file_time_type> before;
  for (auto& e : fs::recursive_directory_iterator(cache / "vmlinux")) before.push_back(e.last_write_time());
  ASSERT_FALSE(before.empty());
  ASSERT_EQ(run({ecc_bin(), "-q", "-o", out.path().string(), example_source("opensnoop-printk").string()}).code, 0);
  std::vector<fs::file_time_type> after;
  for (auto& e : fs::recursive_directory_iterator(cache / "vmlinux")) after.push_back(e.last_write_time());
  EXPECT_EQ(before, after);  // nothing regenerated
}

// The CO-RE BTF cut to the object's types: made by the first run before it
// loads, used by the next (libbpf never parses the kernel's full BTF), and a
// broken one falls back to the full BTF and is made again.
TEST(Lifecycle, CoreBtfIsCachedUsedAndABrokenOneFallsBack) {
  REQUIRE_ROOT();
  TempDir cache;
  std::string package = example_package("opensnoop");
  auto run_and_see_an_open = [&](bool verbose) {
    Trigger opener([] { close(open("/etc/hostname", O_RDONLY)); });
    std::vector<std::string> argv = {"env", "ECLI_CACHE_DIR=" + cache.path().string(), ecli_bin(), "run", "-d", "20"};
    if (verbose) argv.push_back("-v");
    argv.insert(argv.end(), {package, "--pid_target", std::to_string(opener.pid())});
    Process ecli(argv);
    EXPECT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
    opener.go();
    EXPECT_TRUE(ecli.wait_stdout("/etc/hostname")) << ecli.out() << ecli.err();
    ecli.signal(SIGINT);
    EXPECT_EQ(ecli.wait_exit(), 0);
    return ecli.err();
  };
  auto cached_files = [&] {
    std::vector<fs::path> files;
    if (fs::exists(cache / "core-btf"))
      for (auto& e : fs::directory_iterator(cache / "core-btf")) files.push_back(e.path());
    return files;
  };

  // ecli says which BTF it relocates against (libbpf's own wording differs between versions).
  const std::string kernel_btf = "ecli: CO-RE relocations use the kernel's BTF";
  const std::string cached_btf = "ecli: CO-RE relocations use the cached BTF";
  std::string first = run_and_see_an_open(true);
  EXPECT_NE(first.find(kernel_btf + " cut to the types they read"), std::string::npos) << first;
  EXPECT_EQ(first.find(cached_btf), std::string::npos) << first;
  EXPECT_EQ(first.find("/sys/kernel/btf/vmlinux"), std::string::npos) << first;  // libbpf never read it
  auto files = cached_files();
  ASSERT_EQ(files.size(), 1u);  // the BTF only: the object copy and temporaries are gone
  EXPECT_EQ(files[0].extension(), ".btf");

  std::string second = run_and_see_an_open(true);
  EXPECT_NE(second.find(cached_btf), std::string::npos) << second;
  EXPECT_EQ(second.find(kernel_btf), std::string::npos) << second;
  EXPECT_EQ(second.find("/sys/kernel/btf/vmlinux"), std::string::npos) << second;  // libbpf never read it

  write_text(files[0], "not BTF");
  std::string third = run_and_see_an_open(true);
  EXPECT_NE(third.find(cached_btf), std::string::npos) << third;
  EXPECT_NE(third.find(kernel_btf), std::string::npos) << third;  // fell back
  files = cached_files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(read_text(files[0]), "not BTF");  // made again
}

TEST(Lifecycle, ObjectsWithoutCoreRelocationsCacheNoBtf) {
  REQUIRE_ROOT();
  TempDir cache;
  Result r = run({"env", "ECLI_CACHE_DIR=" + cache.path().string(), ecli_bin(), "run", "-d", "0.2",
                  example_package("hello")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(cache / "core-btf"));
}

}  // namespace
}  // namespace ecli::test
