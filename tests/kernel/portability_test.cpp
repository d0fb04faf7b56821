// Kernel halves written for libbpf-tools-style user spaces, run unmodified:
// several versions of one hook (one is kept), programs that cannot run here
// (switched off with their reason), maps that user space would size.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

bool kernel_has_kprobes() { return access("/sys/bus/event_source/devices/kprobe", F_OK) == 0; }

// Events of one stream whose `field` is `value`.
std::vector<nlohmann::json> events_with(const std::string& out, const std::string& field, const std::string& value) {
  std::vector<nlohmann::json> found;
  for (auto& e : json_lines(out))
    if (e.value(field, std::string()) == value) found.push_back(e);
  return found;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) n++;
  return n;
}

TEST(Alternatives, OneVersionOfASyscallHookRunsAndTheOthersSaySkippedWhy) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string victim = (dir / "victim").string();
  Trigger remover([victim] {
    close(open(victim.c_str(), O_CREAT | O_WRONLY, 0600));
    unlinkat(AT_FDCWD, victim.c_str(), 0);
  });
  Process ecli(ecli_run({"--json", "-d", "20", test_package("unlink_versions"), "--targ_pid",
                         std::to_string(remover.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  remover.go();
  ASSERT_TRUE(remover.wait());
  ASSERT_TRUE(ecli.wait_stdout(victim)) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0) << ecli.err();

  auto seen = events_with(ecli.out(), "fname", victim);
  ASSERT_EQ(seen.size(), 1u) << ecli.out();  // never counted twice
  std::string err = ecli.err();
  if (!kernel_has_kprobes()) {
    // This kernel (DESIGN.md §7): no kprobes, no trampolines; the tracepoint is what runs.
    EXPECT_EQ(seen[0]["how"], "tracepoint");
    EXPECT_NE(err.find("skipped unlinkat_ksyscall (SEC(\"ksyscall/unlinkat\")): kprobes are not available on this "
                       "kernel (CONFIG_KPROBES is off); 'unlinkat_tp' (SEC(\"tracepoint/syscalls/sys_enter_unlinkat\")) "
                       "covers the syscall unlinkat entry instead"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("skipped unlinkat_fentry (SEC(\"fentry/__x64_sys_unlinkat\")): this kernel does not support "
                       "BPF trampolines"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("attached unlinkat_tp to tracepoint/syscalls/sys_enter_unlinkat"), std::string::npos) << err;
    EXPECT_EQ(count(err, "attached "), 1u) << err;
  }
}

TEST(Alternatives, StrictFailsWhereTheDefaultRuns) {
  REQUIRE_ROOT();
  if (kernel_has_kprobes()) GTEST_SKIP() << "this kernel has kprobes: every version may load";
  Result r = run(ecli_run({"--strict", "-d", "1", test_package("unlink_versions")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(count(r.err, "\n"), 1u) << r.err;  // one line
  EXPECT_NE(r.err.find("unlinkat_fentry"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("BPF trampolines"), std::string::npos) << r.err;
  EXPECT_EQ(run({"bpftool", "prog", "show", "name", "unlinkat_tp"}).out, "");  // nothing left loaded
}

// Runs exec_versions from `package` while a child of the test execs /bin/true
// once; returns what ecli said on stderr and the one version that printed it.
void run_exec_versions(const std::string& package, std::string& err, std::string& how) {
  Trigger parent([] {
    pid_t child = fork();
    if (child == 0) {
      execl("/bin/true", "true", nullptr);
      _exit(127);
    }
    waitpid(child, nullptr, 0);
  });
  Process ecli(ecli_run({"--json", "-d", "20", package, "--targ_ppid", std::to_string(parent.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  parent.go();
  ASSERT_TRUE(parent.wait());
  ASSERT_TRUE(ecli.wait_stdout("\"comm\":\"true\"")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0) << ecli.err();
  auto seen = events_with(ecli.out(), "comm", "true");
  ASSERT_EQ(seen.size(), 1u) << ecli.out();  // each exec once
  err = ecli.err();
  how = seen[0]["how"];
}

TEST(Alternatives, TpBtfIsChosenOverRawTpAndTracepointAndEachExecPrintsOnce) {
  REQUIRE_ROOT();
  std::string err, how;
  run_exec_versions(test_package("exec_versions"), err, how);
  EXPECT_EQ(how, "tp_btf");
  EXPECT_NE(err.find("'exec_btf' (SEC(\"tp_btf/sched_process_exec\")) covers the tracepoint sched_process_exec: "
                     "the best this kernel supports; not loading 'exec_raw' (SEC(\"raw_tp/sched_process_exec\")), "
                     "'exec_tp' (SEC(\"tp/sched/sched_process_exec\"))"),
            std::string::npos)
      << err;
}

TEST(Alternatives, RawTpTakesThePlaceOfATpBtfTheVerifierRejects) {
  REQUIRE_ROOT();
  // The same tool built with a tp_btf version that reads past its arguments.
  TempDir dir;
  Result built = run({ecc_bin(), "-q", "-a", "-DREJECT_TP_BTF", "-o", dir.path().string(),
                      ECLI_SOURCE_DIR "/tests/data/exec_versions.bpf.c"});
  ASSERT_EQ(built.code, 0) << built.err;
  std::string err, how;
  run_exec_versions((dir / "package.json").string(), err, how);
  EXPECT_EQ(how, "raw_tp");
  EXPECT_NE(err.find("skipped exec_btf (SEC(\"tp_btf/sched_process_exec\")): the BPF verifier rejected it: "),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("'exec_raw' (SEC(\"raw_tp/sched_process_exec\")) covers the tracepoint sched_process_exec"),
            std::string::npos)
      << err;
}

TEST(Alternatives, PlaceholdersAndMissingTracepointsAreSwitchedOffAndTheRestRuns) {
  REQUIRE_ROOT();
  Trigger caller([] { getppid(); });
  pid_t pid = caller.pid();  // wait() forgets it
  Process ecli(ecli_run({"--json", "-d", "20", test_package("placeholders"), "--targ_pid", std::to_string(pid)}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_TRUE(caller.wait());
  ASSERT_TRUE(ecli.wait_stdout(fmt::format("\"pid\":{}", pid))) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0) << ecli.err();
  std::string err = ecli.err();
  EXPECT_NE(err.find("skipped dummy_fentry (SEC(\"fentry/dummy_fentry\")): "), std::string::npos) << err;
  EXPECT_NE(err.find("skipped missing_tracepoint (SEC(\"tp/no_such_category/no_such_event\")): tracepoint "
                     "no_such_category/no_such_event does not exist on this kernel"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("skipped retargeted_kprobe (SEC(\"kprobe\")): "), std::string::npos) << err;
  EXPECT_NE(err.find("skipped getppid_raw (SEC(\"raw_tp/sys_enter_getppid\")): raw tracepoint sys_enter_getppid does "
                     "not exist on this kernel; 'getppid_entry' (SEC(\"tp/syscalls/sys_enter_getppid\")) covers the "
                     "syscall getppid entry instead"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("attached getppid_entry"), std::string::npos) << err;
  EXPECT_EQ(json_lines(ecli.out()).size(), 1u) << ecli.out();  // one version ran
}

TEST(Alternatives, AHookWithNoVersionThatRunsIsAnErrorNamingEveryReason) {
  REQUIRE_ROOT();
  if (kernel_has_kprobes()) GTEST_SKIP() << "this kernel has kprobes: the kprobe version runs";
  Result r = run(ecli_run({"-d", "1", test_package("nothing_runs_here")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "ecli: no version of the entry of do_rmdir can run on this kernel: rmdir_fentry (SEC(\"fentry/do_rmdir\")): "
            "this kernel does not support BPF trampolines (fentry/fexit/lsm): Operation not permitted; rmdir_kprobe "
            "(SEC(\"kprobe/do_rmdir\")): kprobes are not available on this kernel (CONFIG_KPROBES is off)\n");
  EXPECT_EQ(run({"bpftool", "prog", "show", "name", "rmdir_kprobe"}).out, "");  // nothing left loaded
}

TEST(MapSizing, MapsLeftToUserSpaceGetSizesAndTheToolRuns) {
  REQUIRE_ROOT();
  Trigger caller([] {
    for (int i = 0; i < 3; i++) getppid();
  });
  Process ecli(ecli_run({"-v", "--json", "-d", "20", test_package("sized_by_user_space"), "--targ_pid",
                         std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_TRUE(caller.wait());
  ASSERT_TRUE(ecli.wait_stdout("\"calls\":3")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0) << ecli.err();
  std::string err = ecli.err();
  EXPECT_NE(err.find("ecli: map 'stackmap' (stack_trace): value_size 1016 (127 frames)"), std::string::npos) << err;
  EXPECT_NE(err.find("ecli: map 'calls' (hash): max_entries 10240"), std::string::npos) << err;
  EXPECT_NE(err.find("ecli: map 'events' (ringbuf): max_entries 16777216"), std::string::npos) << err;
  std::vector<nlohmann::json> events;  // the ring buffer's; the map of calls prints too, at exit
  for (auto& line : json_lines(ecli.out()))
    if (line.contains("kstack_id")) events.push_back(line);
  ASSERT_EQ(events.size(), 3u) << ecli.out();
  // The stack map really holds stacks: each id prints as the kernel frames it names.
  for (auto& e : events) {
    ASSERT_TRUE(e["kstack_id"].is_array() && !e["kstack_id"].empty()) << e;
    EXPECT_EQ(e["kstack_id"][0].value("module", ""), "kernel") << e;
  }
}

TEST(MapSizing, MaxEntriesOverridesAMapAndBadValuesAreOneLine) {
  REQUIRE_ROOT();
  std::string package = test_package("sized_by_user_space");
  Result ok = run(ecli_run({"--max-entries", "calls=16", "--max-entries", "stackmap=64", "-d", "0.2", package}));
  EXPECT_EQ(ok.code, 0) << ok.err;

  auto expect_error = [&](const std::string& value, const std::string& message) {
    Result r = run(ecli_run({"--max-entries", value, "-d", "1", package}));
    EXPECT_EQ(r.code, 1) << value;
    EXPECT_EQ(r.err, "ecli: " + message + "\n") << value;
  };
  expect_error("nosuch=5", "--max-entries nosuch=5: there is no map named 'nosuch' (maps: calls, events, stackmap)");
  expect_error("calls", "--max-entries calls: expected MAP=N");
  expect_error("calls=many", "--max-entries calls=many: N must be a whole number from 1 to 4294967295");
  expect_error("calls=0", "--max-entries calls=0: N must be a whole number from 1 to 4294967295");
  Result refused = run(ecli_run({"--max-entries", "calls=4294967295", "-d", "1", package}));
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("ecli: cannot create map 'calls' (hash, key_size 4, value_size 8, max_entries 4294967295)"),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("the kernel refuses max_entries 4294967295 from --max-entries"), std::string::npos)
      << refused.err;
  EXPECT_EQ(run({"bpftool", "prog", "show", "name", "count_getppid"}).out, "");  // nothing left loaded
}

}  // namespace
}  // namespace ecli::test
