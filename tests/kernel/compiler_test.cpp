// ecc's compiler side against the real kernel: the default clang and its BPF
// ISA (signed division), clang 14 with a PCH of its own, vmlinux.h reached
// through a user header, and vmlinux.h's kfunc prototypes.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "btf/kernel_id.hpp"
#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

fs::path test_data(const std::string& name) { return fs::path(ECLI_SOURCE_DIR) / "tests" / "data" / name; }

// ecc with a cache of its own, so the test sees what a first and a later run do.
Result ecc_with_cache(const fs::path& cache, std::vector<std::string> args) {
  args.insert(args.begin(), {"env", "ECLI_CACHE_DIR=" + cache.string(), ecc_bin()});
  return run(args);
}

bool kernel_at_least(int want_major, int want_minor) {
  struct utsname u {};
  uname(&u);
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  return major > want_major || (major == want_major && minor >= want_minor);
}

// The PCH path on the line that contains `marker`, e.g. the compile or the doc reader's.
std::string pch_on_line(const std::string& text, const std::string& marker) {
  size_t at = text.find(marker);
  if (at == std::string::npos) return {};
  std::string line = text.substr(at, text.find('\n', at) - at);
  size_t end = line.find(".pch");
  if (end == std::string::npos) return {};
  size_t start = line.rfind(' ', end) + 1;
  return line.substr(start, end + 4 - start);
}

// Runs the package, makes a fresh process call getppid, and waits for `expected(pid)`.
void expect_line_for_getppid(const std::string& package, const std::function<std::string(pid_t)>& expected,
                             std::vector<std::string> options = {}) {
  Trigger caller([] { (void)!getppid(); });
  std::vector<std::string> args = {"-d", "20", package, "--pid_target", std::to_string(caller.pid())};
  args.insert(args.end(), options.begin(), options.end());
  Process ecli(ecli_run(args));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  EXPECT_TRUE(ecli.wait_stdout(expected(caller.pid()))) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Compiler, SignedDivisionCompilesWithTheDefaultClangAndRuns) {
  REQUIRE_ROOT();
  if (!kernel_at_least(6, 6)) GTEST_SKIP() << "signed division needs BPF v4, which kernels before 6.6 lack";
  TempDir out;
  Result r = run({ecc_bin(), "-v", "-o", out.path().string(), test_data("signed_division.bpf.c").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("/ecc-clang -I"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" -mcpu=v4 "), std::string::npos) << r.err;
  // -9 / 4 is -2 rest -1 only when divided as signed numbers.
  expect_line_for_getppid((out / "package.json").string(), [](pid_t) { return "quotient -2 remainder -1"; },
                          {"--dividend", "-9", "--divisor", "4"});
}

TEST(Compiler, Clang14RefusesSignedDivisionSayingWhichClangCan) {
  if (access("/usr/bin/clang-14", X_OK) != 0) GTEST_SKIP() << "clang-14 is not installed";
  TempDir out;
  Result r = run({ecc_bin(), "--clang", "clang-14", "-o", out.path().string(), test_data("signed_division.bpf.c").string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("signed division needs BPF v4: clang 18 or newer, chosen with --clang; this is clang-14"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out / "package.json"));
}

TEST(Compiler, Clang14GetsItsOwnPchAndTheDocReaderOneItCanRead) {
  if (access("/usr/bin/clang-14", X_OK) != 0) GTEST_SKIP() << "clang-14 is not installed";
  TempDir cache, out;
  std::vector<std::string> args = {"-v", "--clang", "clang-14", "-o", out.path().string(), example_source("opensnoop").string()};
  Result first = ecc_with_cache(cache.path(), args);
  ASSERT_EQ(first.code, 0) << first.err;
  Result again = ecc_with_cache(cache.path(), args);
  ASSERT_EQ(again.code, 0) << again.err;
  // The second run builds nothing and compiles once, with clang 14's PCH.
  EXPECT_EQ(again.err.find("-x c-header"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("without it"), std::string::npos) << again.err;
  std::string compile_pch = pch_on_line(again.err, "ecc: running clang-14 ");
  EXPECT_FALSE(compile_pch.empty()) << again.err;
  // ecc-clang, which reads the docs, cannot read clang 14's PCH: it has its own.
  std::string reader_pch = pch_on_line(again.err, "ecc: doc comments read with ");
  EXPECT_FALSE(reader_pch.empty()) << again.err;
  EXPECT_EQ(again.err.find("read without a PCH"), std::string::npos) << again.err;
  // The doc comments made it into the package.
  std::string package = read_text(out / "package.json");
  EXPECT_NE(package.find("Only trace this process"), std::string::npos);
  EXPECT_NE(package.find("Trace open() and openat()"), std::string::npos);

  // The default compiler, ecc-clang, has PCHs of its own in the same cache.
  Result other = ecc_with_cache(cache.path(), {"-v", "-o", out.path().string(), example_source("opensnoop").string()});
  ASSERT_EQ(other.code, 0) << other.err;
  std::string other_pch = pch_on_line(other.err, "/ecc-clang -I");
  EXPECT_FALSE(other_pch.empty()) << other.err;
  EXPECT_NE(other_pch, compile_pch);
  EXPECT_EQ(other.err.find("without it"), std::string::npos) << other.err;
}

TEST(Compiler, HeaderBesideTheSourceBringsInVmlinux) {
  REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "common.h", R"(#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
)");
  // Only the header names vmlinux.h; the program reads a kernel struct from it.
  write_text(dir / "via_header.bpf.c", R"(#include "common.h"

const volatile int pid_target = 0;

SEC("tp/syscalls/sys_enter_getppid")
int via_header(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if ((bpf_get_current_pid_tgid() >> 32) != pid_target)
		return 0;
	bpf_printk("via header: task_struct says tgid %d", BPF_CORE_READ(task, tgid));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
)");
  Result r = run({ecc_bin(), "-v", (dir / "via_header.bpf.c").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("ecc: vmlinux.h is "), std::string::npos) << r.err;
  EXPECT_FALSE(pch_on_line(r.err, "/ecc-clang -I").empty()) << r.err;  // the fast path too
  EXPECT_EQ(r.err.find("without it"), std::string::npos) << r.err;
  expect_line_for_getppid((dir / "package.json").string(),
                          [](pid_t pid) { return fmt::format("via header: task_struct says tgid {}", pid); });
}

// The generated vmlinux.h declares bpf_task_from_pid; without that the
// program does not compile (the same source with BPF_NO_KFUNC_PROTOTYPES).
TEST(Compiler, VmlinuxDeclaresKfuncsSoBpfKsymExistsCompiles) {
  REQUIRE_ROOT();
  if (read_text("/sys/kernel/btf/vmlinux").find("bpf_task_from_pid") == std::string::npos)
    GTEST_SKIP() << "this kernel has no bpf_task_from_pid kfunc";
  if (access("/usr/sbin/bpftool", X_OK) != 0) GTEST_SKIP() << "bpftool is not installed (scripts/setup.sh)";
  TempDir out, without;
  Result r = run({ecc_bin(), "-o", out.path().string(), test_data("kfunc_task.bpf.c").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_line_for_getppid((out / "package.json").string(),
                          [](pid_t pid) { return fmt::format("task {} found by bpf_task_from_pid", pid); });

  Result no_protos = run({ecc_bin(), "--no-pch", "-a", "-DBPF_NO_KFUNC_PROTOTYPES", "-o", without.path().string(),
                          test_data("kfunc_task.bpf.c").string()});
  EXPECT_NE(no_protos.code, 0);
  EXPECT_NE(no_protos.err.find("bpf_task_from_pid"), std::string::npos) << no_protos.err;
}

// Lines of `ecc -v` output that run clang on the source (not a PCH build).
int compiles_in(const std::string& verbose_output) {
  int n = 0;
  for (size_t at = verbose_output.find("ecc: running"); at != std::string::npos;
       at = verbose_output.find("ecc: running", at + 1)) {
    std::string line = verbose_output.substr(at, verbose_output.find('\n', at) - at);
    if (line.find(" -c ") != std::string::npos) n++;
  }
  return n;
}

// The event struct is only reached through a local pointer (a ring buffer
// reservation), so clang alone leaves it out of BTF; ecc names it before the
// first compile and does not compile twice.
TEST(Compiler, StructOnlyReachedThroughALocalPointerCompilesOnceAndDecodes) {
  REQUIRE_ROOT();
  TempDir dir;
  write_text(dir / "local_event.h", R"(#pragma once
struct header_only { int unused; };
)");
  write_text(dir / "local_event.bpf.c", R"(#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "local_event.h"

/* struct not_a_type { is only in a comment */
struct seen_by_getppid {
	int pid;
	int tag;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

const volatile int pid_target = 0;

SEC("tp/syscalls/sys_enter_getppid")
int local_event(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;
	struct seen_by_getppid *e;

	if (pid != pid_target)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->tag = 271828;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
)");
  Result r = run({ecc_bin(), "-v", (dir / "local_event.bpf.c").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(compiles_in(r.err), 1) << r.err;
  EXPECT_EQ(r.err.find("is not in the object's BTF"), std::string::npos) << r.err;
  std::string package = read_text(dir / "package.json");
  EXPECT_NE(package.find("\"seen_by_getppid\""), std::string::npos) << package;
  for (const auto& p : fs::directory_iterator(dir.path()))  // no temporaries left behind
    EXPECT_EQ(p.path().string().find(".tmp."), std::string::npos) << p.path();
  expect_line_for_getppid((dir / "package.json").string(), [](pid_t pid) { return fmt::format("{}", pid); });
}

// A union event is not named by the scan: the second compile through the
// wrapper still brings it into BTF.
TEST(Compiler, UnionEventFallsBackToASecondCompile) {
  TempDir dir;
  write_text(dir / "union_event.bpf.c", R"(#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

union seen { int pid; char bytes[4]; };

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int union_event(void *ctx)
{
	union seen *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
)");
  Result r = run({ecc_bin(), "-v", (dir / "union_event.bpf.c").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(compiles_in(r.err), 2) << r.err;
  EXPECT_EQ(r.err.find("is not in the object's BTF"), std::string::npos) << r.err;
  EXPECT_NE(read_text(dir / "package.json").find("\"seen\""), std::string::npos);
}

// What bpftool prints of an object's BTF (types, in order, with their members).
std::string btf_of(const fs::path& object) {
  Result r = run({"/usr/sbin/bpftool", "btf", "dump", "file", object.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.out;
}

// The program source of examples/opensnoop with its leading includes replaced.
std::string opensnoop_with_includes(const std::string& includes) {
  std::string text = read_text(example_source("opensnoop"));
  size_t body = text.find("#define TASK_COMM_LEN");
  return includes + text.substr(body);
}

// A source that starts with vmlinux.h and libbpf headers gets a PCH of exactly
// those lines; the object is the one clang builds without any PCH.
TEST(Compiler, LeadingIncludesArePrecompiledTogetherAndBuildTheSameObject) {
  if (access("/usr/sbin/bpftool", X_OK) != 0) GTEST_SKIP() << "bpftool is not installed (scripts/setup.sh)";
  TempDir cache, dir, plain;
  write_text(dir / "two.bpf.c", opensnoop_with_includes("// two headers\n#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n"));
  write_text(dir / "four.bpf.c", opensnoop_with_includes(
      "#include \"vmlinux.h\"\n/* the usual four */\n#include <bpf/bpf_helpers.h>\n\n#include <bpf/bpf_tracing.h>\n"
      "#include <bpf/bpf_core_read.h>\n"));
  Result two = ecc_with_cache(cache.path(), {"-v", (dir / "two.bpf.c").string()});
  ASSERT_EQ(two.code, 0) << two.err;
  Result four = ecc_with_cache(cache.path(), {"-v", (dir / "four.bpf.c").string()});
  ASSERT_EQ(four.code, 0) << four.err;
  std::string two_pch = pch_on_line(two.err, "/ecc-clang -I");
  std::string four_pch = pch_on_line(four.err, "/ecc-clang -I");
  EXPECT_NE(two_pch.find("/prefix-"), std::string::npos) << two.err;
  EXPECT_NE(four_pch.find("/prefix-"), std::string::npos) << four.err;
  EXPECT_NE(two_pch, four_pch);
  // Only the prefix PCHs were built, not vmlinux.h's as well; the doc reader used them.
  for (const Result* r : {&two, &four}) {
    EXPECT_EQ(r->err.find("-x c-header " + (cache / "vmlinux").string()), r->err.find("-x c-header")) << r->err;
    EXPECT_EQ(r->err.find("/vmlinux.h -o"), std::string::npos) << r->err;
    EXPECT_EQ(r->err.find("without it"), std::string::npos) << r->err;
    EXPECT_EQ(r->err.find("read without a PCH"), std::string::npos) << r->err;
  }
  EXPECT_NE(four.err.find("doc comments read with " + four_pch), std::string::npos) << four.err;
  std::string prefix_header = read_text(four_pch.substr(0, four_pch.rfind('-')) + ".h");
  EXPECT_EQ(prefix_header,
            "#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n"
            "#include <bpf/bpf_core_read.h>\n");
  // Again: nothing built, the same PCH.
  Result again = ecc_with_cache(cache.path(), {"-v", (dir / "four.bpf.c").string()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.err.find("-x c-header"), std::string::npos) << again.err;
  EXPECT_EQ(pch_on_line(again.err, "/ecc-clang -I"), four_pch);

  Result without = ecc_with_cache(cache.path(), {"--no-pch", "-o", plain.path().string(), (dir / "four.bpf.c").string()});
  ASSERT_EQ(without.code, 0) << without.err;
  EXPECT_EQ(btf_of(dir / "four.bpf.o"), btf_of(plain / "four.bpf.o"));
  std::string with_package = read_text(dir / "package.json"), plain_package = read_text(plain / "package.json");
  auto meta = [](const std::string& package) { return package.substr(package.find("\"meta\"")); };
  EXPECT_EQ(meta(with_package), meta(plain_package));
}

// A #define before the includes may change what they declare: no prefix PCH
// (vmlinux.h's alone, as before), and the define still counts.
TEST(Compiler, DefineBeforeTheIncludesKeepsThemOutOfThePch) {
  TempDir cache, dir;
  write_text(dir / "defined.bpf.c", opensnoop_with_includes(
      "#define BPF_NO_GLOBAL_DATA\n#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n"
      "#ifndef BPF_NO_GLOBAL_DATA\n#error the define before the includes was lost\n#endif\n"));
  Result r = ecc_with_cache(cache.path(), {"-v", (dir / "defined.bpf.c").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string pch = pch_on_line(r.err, "/ecc-clang -I");
  EXPECT_NE(pch.find("/vmlinux-"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("prefix-"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("without it"), std::string::npos) << r.err;
  EXPECT_NE(read_text(dir / "package.json").find("\"event\""), std::string::npos);
}

// A libbpf header of the user's own (beside the source) is not ours to precompile.
TEST(Compiler, UsersOwnLibbpfHeaderEndsThePrefix) {
  TempDir cache, dir;
  fs::create_directories(dir / "bpf");
  write_text(dir / "bpf" / "bpf_helpers.h", "#include </usr/include/bpf/bpf_helpers.h>\n#define USERS_OWN_HELPERS 1\n");
  write_text(dir / "own.bpf.c", opensnoop_with_includes(
      "#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n#ifndef USERS_OWN_HELPERS\n#error not the user's header\n#endif\n"));
  Result r = ecc_with_cache(cache.path(), {"-v", (dir / "own.bpf.c").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("prefix-"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("without it"), std::string::npos) << r.err;
}

// ecc takes clang's result when the object is renamed into place, before
// clang has exited: its warnings are all there by then, and errors still fail.
TEST(Compiler, WarningsAndErrorsOfClangAreKept) {
  TempDir dir;
  write_text(dir / "warns.bpf.c", R"(#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_getppid")
int warns(void *ctx)
{
	int first_unused, second_unused;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
)");
  for (int i = 0; i < 3; i++) {
    Result r = run({ecc_bin(), "-a", "-Wunused-variable", (dir / "warns.bpf.c").string()});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("unused variable 'first_unused'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unused variable 'second_unused'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("2 warnings generated"), std::string::npos) << r.err;
  }
  write_text(dir / "fails.bpf.c", "#include <vmlinux.h>\nint fails(void) { return undeclared; }\n");
  Result bad = run({ecc_bin(), (dir / "fails.bpf.c").string()});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("undeclared"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "fails.bpf.o"));
}

// A vmlinux.h cached by an older ecc (libbpf's dumper, no kfuncs) sits where
// the old key put it; it must not be used.
TEST(Compiler, VmlinuxCachedWithoutKfuncsIsNotReused) {
  std::string kernel = btf::running_kernel_id();
  if (kernel.empty()) GTEST_SKIP() << "the running kernel has no BTF";
  if (access("/usr/sbin/bpftool", X_OK) != 0) GTEST_SKIP() << "bpftool is not installed (scripts/setup.sh)";
  TempDir cache, out;
  fs::create_directories(cache / "vmlinux" / kernel);
  write_text(cache / "vmlinux" / kernel / "vmlinux.h", "#error stale vmlinux.h from an older ecc\n");
  Result r = ecc_with_cache(cache.path(), {"-v", "-o", out.path().string(), test_data("kfunc_task.bpf.c").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("stale"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find((cache / "vmlinux" / kernel).string() + "/"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ecli::test
