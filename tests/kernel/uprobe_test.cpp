// uprobe, uretprobe and USDT programs whose binary, function and process are
// chosen at run time (--binary, --pid), in the libbpf-tools style: sections
// that name only the function, or nothing at all.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";
// Debian's CPython, which carries the python:* USDT probes. A `python3` found
// first on PATH may be another build without them (pyenv's here).
constexpr const char* kPython = "/usr/bin/python3";

// Exactly one line on stderr, containing `text`, exit code 1, and none of
// `program`'s kind left loaded.
void expect_error_line(const Result& r, const std::string& text, const std::string& program) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("ecli: ")) << r.err;
  EXPECT_EQ(run({"bpftool", "prog", "show"}).out.find(program), std::string::npos);
}

TEST(Uprobe, UretprobeNamingOnlyTheFunctionSeesALineTypedIntoBash) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({"-d", "30", "--binary", "/bin/bash", test_package("readline_ret")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  EXPECT_NE(ecli.err().find("attached readline_ret to uretprobe /bin/bash:readline"), std::string::npos)
      << ecli.err();
  // readline only runs when bash is interactive on a terminal.
  Process typed({"script", "-qec", "bash --norc --noprofile -i", "/dev/null"},
                {.pty = false, .stdin_text = "echo ecli-uretprobe-marker\nexit\n"});
  EXPECT_TRUE(ecli.wait_stdout("echo ecli-uretprobe-marker")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

// Debian's CPython 3.11 reaches python:function__entry for an ordinary call
// only while a profile or trace function is set (otherwise only when a
// generator is closed or thrown into), so the script sets one, as a profiler
// would; bpftrace sees exactly the same calls.
const char* kPythonScript = R"(import sys
sys.setprofile(lambda *args: None)
def ecli_usdt_marker():
    pass
ecli_usdt_marker()
)";

TEST(Uprobe, BareUsdtSectionSeesAPythonFunctionCall) {
  REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "call.py", kPythonScript);
  Process ecli(ecli_run({"-d", "30", "-j", "--binary", std::string(kPython) + ":python:function__entry",
                         test_package("usdt_python")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  Result python = run({kPython, (dir / "call.py").string()});
  ASSERT_EQ(python.code, 0) << python.err;
  EXPECT_TRUE(ecli.wait_stdout("\"function\":\"ecli_usdt_marker\"")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Uprobe, UsdtSectionNamingPythonFires) {
  REQUIRE_ROOT();
  TempDir dir;
  std::string python = std::filesystem::canonical(kPython).string();  // /usr/bin/python3.11
  write_text(dir / "py_entry.bpf.c", fmt::format(R"(#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

struct call_event {{
	char function[64];
}};

struct {{
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
}} calls SEC(".maps");

SEC("usdt/{}:python:function__entry")
int BPF_USDT(py_entry, const char *file, const char *function, int line)
{{
	struct call_event *event = bpf_ringbuf_reserve(&calls, sizeof(*event), 0);

	if (!event)
		return 0;
	bpf_probe_read_user_str(event->function, sizeof(event->function), function);
	bpf_ringbuf_submit(event, 0);
	return 0;
}}

char LICENSE[] SEC("license") = "GPL";
)",
                                                 python));
  write_text(dir / "call.py", kPythonScript);
  Process ecli(ecli_run({"-d", "30", (dir / "py_entry.bpf.c").string()}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning, 30s)) << ecli.err();
  Result r = run({kPython, (dir / "call.py").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(ecli.wait_stdout("ecli_usdt_marker")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

// Two processes call getloadavg() (through a uprobe on libc, named as a bare
// library) and getppid() (a tracepoint that filters through targ_tgid); the
// events of one of them are returned.
// FIRST and SECOND in the arguments stand for their pids.
std::vector<nlohmann::json> events_of_two_callers(std::vector<std::string> args, std::vector<std::string> program_args,
                                                  pid_t& first, pid_t& second, std::string* err = nullptr) {
  auto action = [] {
    for (int i = 0; i < 3; i++) {
      double load[3];
      (void)!getloadavg(load, 3);
      (void)!getppid();
    }
  };
  Trigger a(action), b(action);
  first = a.pid();
  second = b.pid();
  for (auto* list : {&args, &program_args}) {
    for (auto& arg : *list) {
      if (arg == "FIRST") arg = std::to_string(first);
      if (arg == "SECOND") arg = std::to_string(second);
    }
  }
  args.insert(args.begin(), {"-d", "30", "-j"});
  args.push_back(test_package("uprobe_pid"));
  args.insert(args.end(), program_args.begin(), program_args.end());
  Process ecli(ecli_run(args));
  EXPECT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  a.go();
  b.go();
  EXPECT_TRUE(a.wait());
  EXPECT_TRUE(b.wait());
  // Both callers are done; their events are in the rings. Stopping drains them.
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
  if (err) *err = ecli.err();
  return json_lines(ecli.out());
}

int count(const std::vector<nlohmann::json>& events, pid_t pid, const std::string& probe) {
  int n = 0;
  for (const auto& e : events) n += e["pid"] == pid && e["probe"] == probe;
  return n;
}

TEST(Uprobe, PidLimitsAUprobeAndAPidFilterToOneOfTwoProcesses) {
  REQUIRE_ROOT();
  pid_t first, second;
  std::string err;
  auto events = events_of_two_callers({"--binary", "libc", "-p", "FIRST"}, {}, first, second, &err);
  // Of targ_tgid and targ_pid, the process is targ_tgid (targ_pid would be a thread).
  EXPECT_NE(err.find(fmt::format("--pid {}: limiting events through targ_tgid\n", first)), std::string::npos) << err;
  EXPECT_EQ(count(events, first, "GETLOADAVG_UPROBE"), 3);
  EXPECT_EQ(count(events, first, "GETPPID_SYSCALL"), 3);
  for (const auto& e : events) EXPECT_EQ(e["pid"], first) << e.dump();
}

TEST(Uprobe, ProcessFilterGivenExplicitlyWinsOverPid) {
  REQUIRE_ROOT();
  pid_t first, second;
  // -p limits the uprobe to the first; --targ_tgid limits the tracepoint to the second.
  auto events =
      events_of_two_callers({"--binary", "libc", "-p", "FIRST"}, {"--targ_tgid", "SECOND"}, first, second);
  EXPECT_EQ(count(events, first, "GETLOADAVG_UPROBE"), 3);
  EXPECT_EQ(count(events, second, "GETPPID_SYSCALL"), 3);
  EXPECT_EQ(count(events, second, "GETLOADAVG_UPROBE"), 0);
  EXPECT_EQ(count(events, first, "GETPPID_SYSCALL"), 0);
}

TEST(Uprobe, WithoutPidEveryProcessIsSeen) {
  REQUIRE_ROOT();
  pid_t first, second;
  auto events = events_of_two_callers({"--binary", "libc"}, {}, first, second);
  EXPECT_EQ(count(events, first, "GETLOADAVG_UPROBE"), 3);
  EXPECT_EQ(count(events, second, "GETLOADAVG_UPROBE"), 3);
  EXPECT_EQ(count(events, second, "GETPPID_SYSCALL"), 3);
}

TEST(UprobeBadInput, UprobeWithoutBinaryNamesTheOption) {
  REQUIRE_ROOT();
  expect_error_line(run(ecli_run({test_package("readline_ret")})),
                    "program 'readline_ret' (SEC(\"uretprobe/readline\")) names no binary: give it with --binary",
                    "readline_ret");
}

TEST(UprobeBadInput, BareSectionWithoutFunctionSaysHowToNameIt) {
  REQUIRE_ROOT();
  expect_error_line(run(ecli_run({"--binary", kPython, test_package("usdt_python")})),
                    "names no USDT probe: give it with --binary python_entry=PATH:PROVIDER:NAME", "python_entry");
}

TEST(UprobeBadInput, MissingBinary) {
  REQUIRE_ROOT();
  expect_error_line(run(ecli_run({"--binary", "/nonexistent/bash", test_package("readline_ret")})),
                    "--binary /nonexistent/bash: No such file or directory", "readline_ret");
  expect_error_line(run(ecli_run({"--binary", "libecli_nonexistent", test_package("readline_ret")})),
                    "--binary libecli_nonexistent: no library or program named libecli_nonexistent", "readline_ret");
}

TEST(UprobeBadInput, BinaryThatIsNotElf) {
  REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "script.sh", "#!/bin/sh\necho not an ELF file\n");
  expect_error_line(run(ecli_run({"--binary", (dir / "script.sh").string(), test_package("readline_ret")})),
                    "script.sh is not an ELF file", "readline_ret");
}

TEST(UprobeBadInput, FunctionNotInTheBinary) {
  REQUIRE_ROOT();
  expect_error_line(run(ecli_run({"--binary", "/bin/bash:ecli_no_such_function", test_package("readline_ret")})),
                    "function ecli_no_such_function not found in /bin/bash", "readline_ret");
  expect_error_line(run(ecli_run({"--binary", std::string(kPython) + ":python:ecli_no_such_probe",
                                  test_package("usdt_python")})),
                    "USDT probe python:ecli_no_such_probe not found in /usr/bin/python3", "python_entry");
}

TEST(UprobeBadInput, PidThatIsNotRunning) {
  REQUIRE_ROOT();
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, nullptr, 0);
  expect_error_line(
      run(ecli_run({"-p", std::to_string(gone), "--binary", "/bin/bash", test_package("readline_ret")})),
      fmt::format("--pid {}: no process {} is running", gone, gone), "readline_ret");
}

TEST(UprobeBadInput, BinaryForAProgramThatDoesNotExist) {
  REQUIRE_ROOT();
  expect_error_line(run(ecli_run({"--binary", "nosuch=/bin/bash", test_package("readline_ret")})),
                    "there is no uprobe or USDT program named nosuch (there are: readline_ret)", "readline_ret");
}

}  // namespace
}  // namespace ecli::test
