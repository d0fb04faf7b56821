// Bad input gets one clear line on stderr and a non-zero exit (never a crash
// or a hang), through the real binaries.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"
#include "package/codec.hpp"

namespace ecli::test {
namespace {

// Exactly one line on stderr, containing `text`, and exit code 1.
void expect_error_line(const Result& r, const std::string& text) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("ecli: ") || r.err.starts_with("ecc: ")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

Result run_package_text(const std::string& text) {
  TempDir dir;
  write_text(dir / "package.json", text);
  return run(ecli_run({(dir / "package.json").string()}));
}

nlohmann::json hello_json() { return nlohmann::json::parse(read_text(example_package("hello"))); }

TEST(BadInput, MissingFile) {
  expect_error_line(run(ecli_run({"/nonexistent/package.json"})),
                    "cannot open /nonexistent/package.json: No such file or directory");
}

TEST(BadInput, EmptyFile) { expect_error_line(run_package_text(""), "is empty"); }

TEST(BadInput, GarbageFile) {
  expect_error_line(run_package_text("\x01\x02garbage"), "neither a package (JSON), a BPF object (ELF) nor");
}

TEST(BadInput, InvalidJson) { expect_error_line(run_package_text("{\"bpf_object\": ]"), "is not valid JSON"); }

TEST(BadInput, TruncatedPackage) {
  std::string text = read_text(example_package("hello"));
  expect_error_line(run_package_text(text.substr(0, text.size() / 2)), "is not valid JSON");
}

TEST(BadInput, InvalidBase64) {
  auto j = hello_json();
  j["bpf_object"] = "@@not base64@@";
  expect_error_line(run_package_text(j.dump()), "bpf_object is not valid base64");
}

TEST(BadInput, TruncatedObjectData) {
  auto j = hello_json();
  std::string b64 = j["bpf_object"];
  j["bpf_object"] = b64.substr(0, b64.size() / 2 / 4 * 4);
  expect_error_line(run_package_text(j.dump()), "bpf_object is truncated");
}

TEST(BadInput, ObjectSizeMismatch) {
  auto j = hello_json();
  j["bpf_object_size"] = j["bpf_object_size"].get<uint64_t>() + 1;
  expect_error_line(run_package_text(j.dump()), "but bpf_object_size says");
  j["bpf_object_size"] = j["bpf_object_size"].get<uint64_t>() - 2;
  expect_error_line(run_package_text(j.dump()), "more than the");
}

TEST(BadInput, MissingObject) {
  auto j = hello_json();
  j.erase("bpf_object");
  expect_error_line(run_package_text(j.dump()), "package is missing bpf_object");
}

TEST(BadInput, PackagedObjectThatIsNotElf) {
  auto j = hello_json();
  std::string not_elf = "this is not an ELF file at all, just text";
  j["bpf_object"] = package::base64_encode(package::zlib_compress(not_elf));
  j["bpf_object_size"] = not_elf.size();
  expect_error_line(run_package_text(j.dump()), "bpf_object is not an ELF file");
}

TEST(BadInput, ElfThatIsNotBpf) {
  expect_error_line(run(ecli_run({"/bin/true"})), "/bin/true is an ELF file but not a BPF object");
}

TEST(BadInput, UnknownProgramOption) {
  expect_error_line(run(ecli_run({example_package("hello"), "--no_such_option", "1"})),
                    "unknown program option --no_such_option");
}

TEST(BadInput, MalformedIntegerValue) {
  expect_error_line(run(ecli_run({example_package("hello"), "--pid_filter", "abc"})),
                    "invalid value for --pid_filter: 'abc' is not an integer (expected pid_t (32-bit signed integer))");
}

TEST(BadInput, OutOfRangeIntegerValue) {
  expect_error_line(run(ecli_run({example_package("hello"), "--pid_filter", "99999999999"})),
                    "'99999999999' is out of range for pid_t (32-bit signed integer) (-2147483648..2147483647)");
}

TEST(BadInput, MissingOptionValue) {
  Result r = run(ecli_run({example_package("hello"), "--pid_filter"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--pid_filter"), std::string::npos) << r.err;
}

TEST(BadInput, StringLongerThanItsArray) {
  std::string package = test_package("globals");
  expect_error_line(run(ecli_run({package, "--name", "eight+chars"})),
                    "invalid value for --name: 'eight+chars' is 11 bytes long but char[8] holds at most 7");
  expect_error_line(run(ecli_run({package, "--color", "PURPLE"})),
                    "'PURPLE' is not a value of enum color (one of RED, GREEN, BLUE or a number)");
  expect_error_line(run(ecli_run({package, "--small", "256"})), "out of range for __u8");
  expect_error_line(run(ecli_run({package, "--user", "-1"})), "out of range for uid_t");
  expect_error_line(run(ecli_run({package, "--flag=maybe"})), "'maybe' is not true or false");
}

TEST(BadInput, EcliOptionAfterTargetIsExplained) {
  expect_error_line(run(ecli_run({example_package("hello"), "-d", "1"})), "ecli's own options such as -d go before TARGET");
}

TEST(BadInput, NotRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges with setpriv";
  TempDir dir;  // readable by nobody, unlike the test's private folders
  fs::permissions(dir.path(), fs::perms::all & ~(fs::perms::group_write | fs::perms::others_write));
  fs::copy_file(example_package("hello"), dir / "package.json");
  fs::permissions(dir / "package.json", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  Result r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", ecli_bin(), "run",
                  (dir / "package.json").string()});
  expect_error_line(r, "permission denied: loading BPF programs needs root");
}

TEST(BadInput, VerifierRejectionShowsTheLogTail) {
  REQUIRE_ROOT();
  std::string package = test_package("reject");
  Result r = run(ecli_run({package}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("verifier log (last lines):"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ecli: the BPF verifier rejected program 'bad' (SEC(\"tp/syscalls/sys_enter_getppid\")): "
                       "R0 invalid mem access 'scalar'"),
            std::string::npos)
      << r.err;
}

TEST(BadInput, CompileErrorShowsDiagnosticsAndWritesNoPackage) {
  TempDir dir;
  Result r = run({ecc_bin(), "-o", dir.path().string(), ECLI_SOURCE_DIR "/tests/data/syntax_error.bpf.c"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("error: use of undeclared identifier 'undeclared_identifier'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ecc: cannot compile"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(BadInput, EccMissingSource) {
  Result r = run({ecc_bin(), "/nonexistent/x.bpf.c"});
  expect_error_line(r, "cannot open /nonexistent/x.bpf.c: No such file or directory");
}

TEST(BadInput, RunningABrokenSourceShowsDiagnostics) {
  Result r = run(ecli_run({ECLI_SOURCE_DIR "/tests/data/syntax_error.bpf.c"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("undeclared_identifier"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ecli: cannot compile"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ecli::test

namespace ecli::test {
namespace {

// ecc refuses an @sample that cannot work: one line with file and line, no package.
void expect_sample_refused(const std::string& annotation, const std::string& reason) {
  TempDir dir, out;
  fs::path source = dir / "bad_sample.bpf.c";
  write_text(source, "#include <vmlinux.h>\n"
                     "#include <bpf/bpf_helpers.h>\n"
                     "struct val {\n"
                     "    __u64 count;\n"
                     "};\n"
                     "/// @sample " + annotation + "\n"
                     "struct {\n"  // line 7: where the map's declaration starts
                     "    __uint(type, BPF_MAP_TYPE_HASH);\n"
                     "    __uint(max_entries, 16);\n"
                     "    __type(key, u32);\n"
                     "    __type(value, struct val);\n"
                     "} counts SEC(\".maps\");\n"
                     "SEC(\"tp/syscalls/sys_enter_getppid\")\n"
                     "int count(void *ctx) { u32 k = 0; struct val *v = bpf_map_lookup_elem(&counts, &k); "
                     "if (v) v->count++; return 0; }\n"
                     "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
  Result r = run({ecc_bin(), "-q", "-o", out.path().string(), source.string()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err, "ecc: " + source.string() + ":7: map 'counts': " + reason + "\n");
  EXPECT_TRUE(fs::is_empty(out.path()));
}

TEST(BadInput, SampleThatIsNotJson) {
  expect_sample_refused("{ interval: 1000 }", "@sample is not JSON: { interval: 1000 }");
}

TEST(BadInput, SampleOfUnknownType) {
  expect_sample_refused("{\"type\": \"pie\"}", "@sample type \"pie\" is not one of log2_hist, linear_hist, default_kv");
}

TEST(BadInput, HistogramWithoutSlots) {
  expect_sample_refused("{\"interval\": 1000, \"type\": \"log2_hist\"}",
                        "its value (struct val) has no slots array to hold the histogram's buckets");
}

TEST(BadInput, StackFieldOfTheWrongType) {
  REQUIRE_ROOT();
  // Once read while ecli's symbol thread was already started: it ended in std::terminate.
  auto package = nlohmann::json::parse(read_text(example_package("profile")));
  package["meta"]["stack_fields"]["struct key_t"]["kern_stack_id"]["kind"] = 5;
  Result r = run_package_text(package.dump());
  expect_error_line(r, "package field meta.stack_fields.struct key_t.kern_stack_id.kind must be a string");
}

TEST(BadInput, TwoGlobalsGivenOneOptionName) {
  REQUIRE_ROOT();
  auto package = nlohmann::json::parse(read_text(example_package("profile")));
  auto& variables = package["meta"]["bpf_skel"]["data_sections"][0]["variables"];
  variables[0]["cmdarg"] = {{"short", "x"}};
  variables[1]["cmdarg"] = {{"short", "x"}};
  std::string second = variables[1]["name"];
  expect_error_line(run_package_text(package.dump()),
                    "malformed package: global '" + second + "' cannot be the option -x,--" + second);
  variables[1]["cmdarg"] = {{"long", "help"}};  // ecli's own, but no hint to put it before TARGET
  TempDir dir;
  write_text(dir / "package.json", package.dump());
  Result help = run(ecli_run({(dir / "package.json").string(), "--help"}));
  expect_error_line(help, "malformed package: global '" + second + "' cannot be the option --help");
  EXPECT_EQ(help.err.find("before TARGET"), std::string::npos) << help.err;
}

}  // namespace
}  // namespace ecli::test

// A new user's first runs: no root, no writable HOME, leftovers of killed runs.
namespace ecli::test {
namespace {

// A folder the unprivileged user (nobody) can read and write too.
void open_to_everyone(const fs::path& dir) { fs::permissions(dir, fs::perms::all); }

// The pid of a process that has exited and been reaped: no process has it now.
pid_t dead_pid() {
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

// As for system users: HOME=/nonexistent and no cache variables. The
// privilege message comes first, not a cache error, and the temporary
// stand-in cache is gone afterwards.
TEST(BadInput, UserWithoutRootOrHomeGetsThePrivilegeMessage) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges with setpriv";
  TempDir dir, tmp;
  open_to_everyone(dir.path());
  open_to_everyone(tmp.path());
  fs::copy_file(ECLI_SOURCE_DIR "/tests/data/globals.bpf.c", dir / "globals.bpf.c");
  fs::permissions(dir / "globals.bpf.c", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  Result r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "env",
                  "-u", "ECLI_CACHE_DIR", "-u", "XDG_CACHE_HOME", "HOME=/nonexistent", "TMPDIR=" + tmp.path().string(),
                  ecli_bin(), "run", (dir / "globals.bpf.c").string()});
  expect_error_line(r, "permission denied: loading BPF programs needs root");
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

// As root with a cache that cannot be created (HOME is a file): ecli runs a
// source and a CO-RE package without caching, says so once with -v, and
// leaves nothing behind.
TEST(BadInput, UnwritableCacheOnlyCostsCaching) {
  REQUIRE_ROOT();
  TempDir dir, tmp;
  write_text(dir / "home", "a file, not a folder");
  std::string package = example_package("opensnoop");
  for (const std::string& target : {std::string(ECLI_SOURCE_DIR "/tests/data/globals.bpf.c"), package}) {
    Result r = run({"env", "-u", "ECLI_CACHE_DIR", "-u", "XDG_CACHE_HOME", "HOME=" + (dir / "home").string(),
                    "TMPDIR=" + tmp.path().string(), ecli_bin(), "run", "-v", "-d", "0.2", target});
    EXPECT_EQ(r.code, 0) << r.err;
    const std::string note = "ecli: cache directory " + (dir / "home").string() +
                             "/.cache/ecli is not writable (Not a directory); caching is off for this run";
    size_t at = r.err.find(note);
    EXPECT_NE(at, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(note, at + 1), std::string::npos) << r.err;  // once
    EXPECT_EQ(r.err.find("cannot create cache"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::is_empty(tmp.path())) << target;
  }
}

// Temporaries of runs killed with -9 (their pid is gone) are removed by the
// next run; those of a live writer (this test) stay.
TEST(BadInput, TemporariesOfKilledRunsAreRemoved) {
  REQUIRE_ROOT();
  TempDir cache;
  std::string dead = std::to_string(dead_pid()), live = std::to_string(getpid());
  fs::create_directories(cache / "packages" / ("0123456789abcdef.tmp." + dead));
  write_text(cache / "packages" / ("0123456789abcdef.tmp." + dead) / "package.json", "{");
  fs::create_directories(cache / "packages" / ("fedcba9876543210.tmp." + live));
  fs::create_directories(cache / "core-btf");
  for (const std::string& name : {"00.btf.tmp." + dead, "00.btf.o.tmp." + dead, "11.btf.tmp." + live})
    write_text(cache / "core-btf" / name, "half");
  // Beside the vmlinux.h of any kernel: the header and its precompiled form.
  fs::create_directories(cache / "vmlinux" / "0123");
  for (const std::string& name : {"vmlinux.h.tmp." + dead, "vmlinux-00.pch.tmp." + dead, "vmlinux.h.tmp." + live})
    write_text(cache / "vmlinux" / "0123" / name, "half");
  // A pid reused by another process: the age tells.
  write_text(cache / "core-btf" / ("22.btf.tmp." + live + "0"), "old");
  fs::last_write_time(cache / "core-btf" / ("22.btf.tmp." + live + "0"),
                      fs::file_time_type::clock::now() - std::chrono::hours(48));

  // A source with CO-RE relocations: both the compile cache and the core-btf cache are used.
  Result r = run({"env", "ECLI_CACHE_DIR=" + cache.path().string(), ecli_bin(), "run", "-d", "0.2",
                  example_source("opensnoop").string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(cache / "packages" / ("0123456789abcdef.tmp." + dead)));
  EXPECT_TRUE(fs::exists(cache / "packages" / ("fedcba9876543210.tmp." + live)));
  EXPECT_FALSE(fs::exists(cache / "core-btf" / ("00.btf.tmp." + dead)));
  EXPECT_FALSE(fs::exists(cache / "core-btf" / ("00.btf.o.tmp." + dead)));
  EXPECT_TRUE(fs::exists(cache / "core-btf" / ("11.btf.tmp." + live)));
  EXPECT_FALSE(fs::exists(cache / "core-btf" / ("22.btf.tmp." + live + "0")));
  EXPECT_FALSE(fs::exists(cache / "vmlinux" / "0123" / ("vmlinux.h.tmp." + dead)));
  EXPECT_FALSE(fs::exists(cache / "vmlinux" / "0123" / ("vmlinux-00.pch.tmp." + dead)));
  EXPECT_TRUE(fs::exists(cache / "vmlinux" / "0123" / ("vmlinux.h.tmp." + live)));
}

// The stand-in for an unwritable cache ("ecli-cache-<pid>-XXXXXX" in TMPDIR)
// of a run killed with -9 is removed by the next run that falls back; only
// ours, only of dead pids, only of that name.
TEST(BadInput, TemporaryCachesOfKilledRunsAreRemoved) {
  REQUIRE_ROOT();
  TempDir dir, tmp;
  write_text(dir / "home", "a file, not a folder");
  std::string dead = std::to_string(dead_pid()), live = std::to_string(getpid());
  std::string gone = "ecli-cache-" + dead + "-aB3xYz";
  fs::create_directories(tmp / gone / "packages");
  write_text(tmp / gone / "packages" / "package.json", "{");
  std::vector<std::string> kept = {"ecli-cache-" + live + "-aB3xYz", "ecli-cache-" + dead + "-short",
                                   "ecli-cache-aB3xYz", "other-" + dead + "-aB3xYz", "ecli-cache-" + dead + "-N0body"};
  for (const std::string& name : kept) fs::create_directories(tmp / name);
  ASSERT_EQ(chown((tmp / kept.back()).c_str(), 65534, 65534), 0);  // not ours

  Result r = run({"env", "-u", "ECLI_CACHE_DIR", "-u", "XDG_CACHE_HOME", "HOME=" + (dir / "home").string(),
                  "TMPDIR=" + tmp.path().string(), ecli_bin(), "run", "-d", "0.2", example_package("opensnoop")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(tmp / gone));
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(tmp.path())) left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(left, kept);  // and this run's own stand-in is gone too
}

}  // namespace
}  // namespace ecli::test

namespace ecli::test {
namespace {

// Under kernel lockdown the verifier only says "unknown func"; ecli names the
// lockdown and its mode. Where lockdown is off the program simply loads.
TEST(BadInput, HelperRefusedUnderLockdownIsNamed) {
  REQUIRE_ROOT();
  std::string text = read_text("/sys/kernel/security/lockdown");
  if (text.empty())  // securityfs not mounted: look in a private mount namespace
    text = run({"unshare", "-m", "sh", "-c",
                "mount -t securityfs none /sys/kernel/security && cat /sys/kernel/security/lockdown"})
               .out;
  if (text.find("[none]") != std::string::npos || text.find('[') == std::string::npos)
    GTEST_SKIP() << "kernel lockdown is not active here (/sys/kernel/security/lockdown: "
                 << (text.empty() ? "unreadable" : text) << ")";
  std::string mode = text.substr(text.find('[') + 1, text.find(']') - text.find('[') - 1);
  Result r = run(ecli_run({test_package("probe_write_user")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("ecli: the kernel refused program 'overwrite' (SEC(\"tp/syscalls/sys_enter_getppid\")): "
                       "it calls bpf_probe_write_user, which the kernel refuses under lockdown (mode \"" +
                       mode + "\" in /sys/kernel/security/lockdown)"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ecli::test
