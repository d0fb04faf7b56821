// Which clang ecc runs and with which BPF CPU, and which user headers bring in
// the generated vmlinux.h.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "compiler/clang_driver.hpp"
#include "compiler/includes.hpp"

namespace ecli::compiler {
namespace {

namespace fs = std::filesystem;

class TempFolder : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("ecli-clang-driver-" + std::to_string(getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& text) {
    fs::path path = dir / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path;
  }
};

TEST(BpfCpu, V4NeedsClang18AndKernel66) {
  EXPECT_EQ(bpf_cpu_flag(19, "6.18.44-fc-v769"), "-mcpu=v4");
  EXPECT_EQ(bpf_cpu_flag(18, "6.6.0"), "-mcpu=v4");
  EXPECT_EQ(bpf_cpu_flag(19, "6.5.13-amd64"), "-mcpu=v3");
  EXPECT_EQ(bpf_cpu_flag(19, "5.10.0-28-amd64"), "-mcpu=v3");
  EXPECT_EQ(bpf_cpu_flag(19, "4.19.0"), "-mcpu=v2");
  EXPECT_EQ(bpf_cpu_flag(19, "4.9.0"), "");
  EXPECT_EQ(bpf_cpu_flag(19, "not a release"), "");
}

TEST(BpfCpu, OlderOrUnknownClangKeepsItsDefault) {
  EXPECT_EQ(bpf_cpu_flag(17, "6.18.0"), "");
  EXPECT_EQ(bpf_cpu_flag(14, "6.18.0"), "");
  EXPECT_EQ(bpf_cpu_flag(0, "6.18.0"), "");
}

TEST(BpfCpu, FlagsCarryTheKernelsChoiceUnlessTheUserChose) {
  Clang clang19{"clang-19", "/usr/lib/llvm-19/bin/clang:1:1", 19};
  struct utsname u {};
  uname(&u);
  auto cpu_flags = [](const std::vector<std::string>& flags) {
    std::vector<std::string> out;
    std::copy_if(flags.begin(), flags.end(), std::back_inserter(out), [](auto& f) { return f.starts_with("-mcpu"); });
    return out;
  };
  std::string expected = bpf_cpu_flag(19, u.release);
  EXPECT_EQ(cpu_flags(bpf_cflags(clang19, {}, {})), expected.empty() ? std::vector<std::string>{} : std::vector{expected});
  EXPECT_EQ(cpu_flags(bpf_cflags(clang19, {}, {"-mcpu=v2"})), std::vector<std::string>{"-mcpu=v2"});
  EXPECT_TRUE(cpu_flags(bpf_cflags(Clang{"clang", "", 14}, {}, {})).empty());
}

// A PATH of fake clangs that answer -dumpversion.
class ChooseClang : public TempFolder {
 protected:
  std::string saved_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  void SetUp() override {
    TempFolder::SetUp();
    setenv("PATH", (dir / "bin").c_str(), 1);
    setenv("ECLI_CACHE_DIR", (dir / "cache").c_str(), 1);
    unsetenv("CLANG");
  }
  void TearDown() override {
    setenv("PATH", saved_path.c_str(), 1);
    unsetenv("ECLI_CACHE_DIR");
    unsetenv("CLANG");
    TempFolder::TearDown();
  }
  void fake_clang(const std::string& name, const std::string& version) {
    fs::path path = write("bin/" + name, "#!/bin/sh\necho " + version + "\n");
    fs::permissions(path, fs::perms::owner_all);
  }
};

TEST_F(ChooseClang, NewestVersionedClangWins) {
  fake_clang("clang", "14.0.6");
  fake_clang("clang-14", "14.0.6");
  fake_clang("clang-19", "19.1.7");
  fake_clang("clang-15", "15.0.7");
  fake_clang("clang-format-19", "19.1.7");
  Clang clang = choose_clang("");
  EXPECT_EQ(clang.command, "clang-19");
  EXPECT_EQ(clang.major, 19);
  EXPECT_FALSE(clang.identity.empty());
}

// The choice is cached, but a clang installed or removed later counts.
TEST_F(ChooseClang, ClangsInstalledOrRemovedLaterAreSeen) {
  fake_clang("clang-15", "15.0.7");
  EXPECT_EQ(choose_clang("").command, "clang-15");
  EXPECT_EQ(choose_clang("").command, "clang-15");  // from the cache
  fake_clang("clang-19", "19.1.7");
  EXPECT_EQ(choose_clang("").command, "clang-19");
  fs::remove(dir / "bin" / "clang-19");
  EXPECT_EQ(choose_clang("").command, "clang-15");
  setenv("PATH", (dir.string() + "/other:" + (dir / "bin").string()).c_str(), 1);
  fs::create_directories(dir / "other");
  fake_clang("../other/clang-18", "18.1.8");
  EXPECT_EQ(choose_clang("").command, "clang-18");
}

TEST_F(ChooseClang, PlainClangWithoutVersionedOnes) {
  fake_clang("clang", "14.0.6");
  Clang clang = choose_clang("");
  EXPECT_EQ(clang.command, "clang");
  EXPECT_EQ(clang.major, 14);
}

TEST_F(ChooseClang, RequestedAndEnvironmentWin) {
  fake_clang("clang-19", "19.1.7");
  fake_clang("clang-15", "15.0.7");
  setenv("CLANG", "clang-15", 1);
  EXPECT_EQ(choose_clang("").command, "clang-15");
  EXPECT_EQ(choose_clang("").major, 15);
  EXPECT_EQ(choose_clang("clang-19").command, "clang-19");
}

TEST_F(ChooseClang, MissingClangHasNoIdentity) {
  Clang clang = choose_clang("clang-99");
  EXPECT_EQ(clang.command, "clang-99");
  EXPECT_TRUE(clang.identity.empty());
  EXPECT_EQ(clang.major, 0);
}

TEST_F(ChooseClang, VersionIsAskedAgainWhenClangIsReplaced) {
  fake_clang("clang-19", "19.1.7");
  EXPECT_EQ(describe_clang("clang-19").major, 19);
  fake_clang("clang-19", "21.0.0-rc1");  // another size and mtime: another build
  EXPECT_EQ(describe_clang("clang-19").major, 21);
}

class Includes : public TempFolder {};

TEST_F(Includes, HeaderBesideTheSourceWantsVmlinux) {
  write("common.h", "#pragma once\n#include \"vmlinux.h\"\n#include <bpf/bpf_helpers.h>\n");
  fs::path source = write("x.bpf.c", "#include \"common.h\"\nint x;\n");
  IncludeScan scan = scan_includes(source, {dir});
  EXPECT_TRUE(scan.wants_vmlinux);
  ASSERT_EQ(scan.files.size(), 2u);
  EXPECT_EQ(scan.files[1].filename(), "common.h");
}

TEST_F(Includes, AngleIncludeThroughAUserFolder) {
  write("inc/defs.h", "#  include   <vmlinux.h>\n");
  fs::path source = write("src/x.bpf.c", "#include <defs.h>\n");
  EXPECT_FALSE(scan_includes(source, {dir / "src"}).wants_vmlinux);  // defs.h is not found: a system header
  EXPECT_TRUE(scan_includes(source, {dir / "src", dir / "inc"}).wants_vmlinux);
}

TEST_F(Includes, TheUsersOwnVmlinuxWinsAndIsNotRead) {
  write("vmlinux.h", "#include \"never.h\"\n");
  write("never.h", "#include \"vmlinux.h\"\n");
  write("common.h", "#include \"vmlinux.h\"\n");
  fs::path source = write("x.bpf.c", "#include \"common.h\"\n");
  IncludeScan scan = scan_includes(source, {dir});
  EXPECT_FALSE(scan.wants_vmlinux);
  EXPECT_EQ(scan.files.size(), 2u);
}

TEST_F(Includes, SystemHeadersAndCommentsDoNotCount) {
  fs::path source = write("x.bpf.c", "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n// #include \"vmlinux.h\"\n");
  IncludeScan scan = scan_includes(source, {dir});
  EXPECT_FALSE(scan.wants_vmlinux);
  EXPECT_EQ(scan.files.size(), 1u);
}

TEST_F(Includes, CyclesEndAndMacrosAreSeenInHeaders) {
  write("a.h", "#include \"b.h\"\n");
  write("b.h", "#include \"a.h\"\n#define BPF_NO_KFUNC_PROTOTYPES\n#include \"vmlinux.h\"\n");
  fs::path source = write("x.bpf.c", "#include \"a.h\"\n");
  IncludeScan scan = scan_includes(source, {dir});
  EXPECT_TRUE(scan.wants_vmlinux);
  EXPECT_EQ(scan.files.size(), 3u);
  EXPECT_TRUE(scan.mentions("BPF_NO_KFUNC_PROTOTYPES"));
  EXPECT_FALSE(scan.mentions("BPF_NO_PRESERVE_ACCESS_INDEX"));
}

TEST(DefinedStructNames, DefinitionsOnlyEachOnceCommentsAndStringsSkipped) {
  std::string source = R"(struct args_t {
    const char *fname;
};
typedef struct event
{
    int pid;
} event_t;
struct args_t { int again; };
struct task_struct *task;          // a use, not a definition
static void f(struct event *e) {}  /* struct in_comment { */
const char *s = "struct in_string {";
char c = '{'; struct after_char {int x;};
struct { int anonymous; } value;
struct_like {};
)";
  std::vector<std::string> names = defined_struct_names({source, "struct from_header {\n int x; };\n"});
  EXPECT_EQ(names, (std::vector<std::string>{"args_t", "event", "after_char", "from_header"}));
}

TEST_F(TempFolder, LeadingSystemIncludesStopAtAnythingElse) {
  std::vector<fs::path> dirs = {dir};
  EXPECT_EQ(leading_system_includes("// SPDX\n/* a\n * comment */\n#include <vmlinux.h>\n\n#include \"bpf/bpf_helpers.h\"  // why\n"
                                    "# include <bpf/bpf_tracing.h>\n#include <linux/bpf.h>\n#include <bpf/bpf_core_read.h>\n"
                                    "#define X 1\n#include <bpf/bpf_endian.h>\n",
                                    dirs),
            "#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n#include <linux/bpf.h>\n"
            "#include <bpf/bpf_core_read.h>\n");
  EXPECT_EQ(leading_system_includes("#define BPF_NO_GLOBAL_DATA\n#include <vmlinux.h>\n", dirs), "");
  EXPECT_EQ(leading_system_includes("#include <bpf/bpf_helpers.h>\n#include <vmlinux.h>\n", dirs), "");
  EXPECT_EQ(leading_system_includes("#include \"common.h\"\n", dirs), "");
  EXPECT_EQ(leading_system_includes("#include <vmlinux.h>\n#include \"common.h\"\n#include <bpf/bpf_helpers.h>\n", dirs),
            "#include <vmlinux.h>\n");
  EXPECT_EQ(leading_system_includes("#include <vmlinux.h>\n#if 1\n#include <bpf/bpf_helpers.h>\n#endif\n", dirs),
            "#include <vmlinux.h>\n");
  EXPECT_EQ(leading_system_includes("#include <vmlinux.h> int x;\n#include <bpf/bpf_helpers.h>\n", dirs), "");
  EXPECT_EQ(leading_system_includes("#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>", dirs),
            "#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n");
  // The user's own copy of a header wins over ours: it is not precompiled.
  write("bpf/bpf_tracing.h", "");
  EXPECT_EQ(leading_system_includes("#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n", dirs),
            "#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n");
  write("vmlinux.h", "");
  EXPECT_EQ(leading_system_includes("#include <vmlinux.h>\n#include <bpf/bpf_helpers.h>\n", dirs), "");
}

TEST_F(TempFolder, PrefixPchsBeyondTheLimitGoLeastRecentlyUsedFirst) {
  auto used = [](const fs::path& path, time_t when) {
    struct timespec times[2] = {{when, 0}, {0, UTIME_OMIT}};  // access time: last use
    ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  };
  time_t now = time(nullptr);
  for (int i = 0; i < 5; i++) used(write("prefix-" + std::to_string(i) + "-k.pch", ""), now - 3600 * (10 - i));
  used(dir / "prefix-0-k.pch", now);  // prefix-4 was the newest, then prefix-0 was used
  write("vmlinux-k.pch", "");
  write("prefix-1.h", "");
  prune_prefix_pchs(dir, 3);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"prefix-0-k.pch", "prefix-1.h", "prefix-3-k.pch", "prefix-4-k.pch",
                                            "vmlinux-k.pch"}));
  prune_prefix_pchs(dir, 8);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 5);
}

TEST(IncludeDirs, FromClangFlags) {
  std::vector<fs::path> dirs = include_dirs_of({"-Ia", "-I", "b", "-DX", "-iquote", "c", "-iquoted", "-O2"});
  EXPECT_EQ(dirs, (std::vector<fs::path>{"a", "b", "c", "d"}));
}

}  // namespace
}  // namespace ecli::compiler
