// Each example compiled with ecc, run with ecli, its event triggered, and the
// line it prints checked (DESIGN.md §7 for what this kernel lacks).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

// Lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.find(needle) != std::string::npos) out.push_back(line);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

TEST(Examples, HelloReportsOnlyTheFilteredPid) {
  REQUIRE_ROOT();
  Trigger writer([] {
    int fd = open("/dev/null", O_WRONLY);
    for (int i = 0; i < 3; i++) (void)!write(fd, "x", 1);
  });
  Process ecli(ecli_run({"-d", "20", example_package("hello"), "--pid_filter", std::to_string(writer.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  writer.go();
  std::string expected = fmt::format("BPF triggered from PID {}.", writer.pid());
  EXPECT_TRUE(ecli.wait_stdout(expected)) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
  // Every line is the filtered pid's, although every process writes.
  auto triggered = lines_with(ecli.out(), "BPF triggered from PID");
  EXPECT_FALSE(triggered.empty());
  for (const auto& line : triggered) EXPECT_NE(line.find(expected), std::string::npos) << line;
}

TEST(Examples, HelloWithoutFilterSeesOtherProcesses) {
  REQUIRE_ROOT();
  Trigger writer([] { (void)!write(open("/dev/null", O_WRONLY), "x", 1); });
  Process ecli(ecli_run({"-d", "20", example_package("hello")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  writer.go();
  EXPECT_TRUE(ecli.wait_stdout(fmt::format("BPF triggered from PID {}.", writer.pid()))) << ecli.out();
  ecli.signal(SIGTERM);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Examples, BpfSimpleObjectWithoutBtfShowsExecve) {
  REQUIRE_ROOT();
  TempDir dir;
  // The seed's plain build line: no -g, so no BTF in the object.
  Result cc = run({"clang", "-O2", "-target", "bpf", "-c", (fs::path(ECLI_SOURCE_DIR) / "examples/bpf_simple/bpf_simple.c").string(),
                   "-o", (dir / "bpf_simple.o").string()});
  ASSERT_EQ(cc.code, 0) << cc.err;
  Process ecli(ecli_run({"-d", "20", (dir / "bpf_simple.o").string()}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  Trigger exec([] { execl("/bin/true", "ecli-simple-probe", nullptr); });
  exec.go();
  EXPECT_TRUE(ecli.wait_stdout("execve: ")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Examples, OpensnoopPrintkSeesOpenatOfTargetPid) {
  REQUIRE_ROOT();
  Trigger opener([] { close(open("/etc/hostname", O_RDONLY)); });
  Process ecli(ecli_run({"-d", "20", example_package("opensnoop-printk"), "--pid_target", std::to_string(opener.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  opener.go();
  std::string expected = fmt::format("Process ID: {} enter sys openat", opener.pid());
  EXPECT_TRUE(ecli.wait_stdout(expected)) << ecli.out();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
  for (const auto& line : lines_with(ecli.out(), "Process ID:")) EXPECT_NE(line.find(expected), std::string::npos);
}

TEST(Examples, SigsnoopPrintkSeesKillWithItsResult) {
  REQUIRE_ROOT();
  // Signal 0 to a pid that cannot exist: kill() fails with ESRCH (-3).
  Trigger sender([] { kill(0x3ffffff0, 0); });
  Process ecli(ecli_run({"-d", "20", example_package("sigsnoop-printk"), "--filter_pid", std::to_string(sender.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  sender.go();
  std::string expected = fmt::format("PID {} (", sender.pid());
  EXPECT_TRUE(ecli.wait_stdout("sent signal 0 to PID 1073741808, ret = -3")) << ecli.out();
  EXPECT_NE(ecli.out().find(expected), std::string::npos) << ecli.out();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Examples, BashreadlineSeesTypedCommand) {
  REQUIRE_ROOT();
  if (access("/bin/bash", X_OK) != 0) GTEST_SKIP() << "/bin/bash is missing";
  Process ecli(ecli_run({"-d", "30", example_package("bashreadline")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  // readline only runs when bash is interactive on a terminal.
  Process typed({"script", "-qec", "bash --norc --noprofile -i", "/dev/null"},
                {.pty = false, .stdin_text = "echo ecli-readline-marker\nexit\n"});
  EXPECT_TRUE(ecli.wait_stdout("read: echo ecli-readline-marker")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

// Kernel features this machine may lack (DESIGN.md §7): the clear error is
// checked, then the event check is skipped by name.
void expect_missing_feature_or_event(const std::string& example, const std::string& feature_error,
                                     const std::string& feature_name, const std::string& event_text) {
  TempDir dir;
  fs::path victim = dir / "ecli-unlink-victim";
  Process ecli(ecli_run({"-d", "20", example_package(example)}));
  auto code = ecli.wait_exit(3s);
  if (code) {
    EXPECT_EQ(*code, 1);
    EXPECT_NE(ecli.err().find(feature_error), std::string::npos) << ecli.err();
    GTEST_SKIP() << feature_name << " not available on this kernel: " << example << " event check skipped";
  }
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  write_text(victim, "x");
  unlink(victim.c_str());
  EXPECT_TRUE(ecli.wait_stdout(event_text)) << ecli.out();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Examples, KprobeLinkTracesUnlinkOrNamesMissingKprobes) {
  REQUIRE_ROOT();
  expect_missing_feature_or_event("kprobe-link", "kprobes are not available on this kernel (CONFIG_KPROBES is off)",
                                  "kprobes (CONFIG_KPROBES)", "filename = ecli-unlink-victim");
}

TEST(Examples, FentryLinkTracesUnlinkOrNamesMissingTrampolines) {
  REQUIRE_ROOT();
  expect_missing_feature_or_event("fentry-link", "does not support BPF trampolines",
                                  "BPF trampolines (fentry/fexit)", "fentry: pid = ");
}

}  // namespace
}  // namespace ecli::test
