// The kernel BTF cut to an object's CO-RE types (btf/core_subset.hpp): every
// program relocates exactly as against the full BTF, and a first run reads
// the kernel's structures right.
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "btf/core_subset.hpp"
#include "kernel/fixture.hpp"
#include "package/package.hpp"
#include "util/files.hpp"

namespace ecli::test {
namespace {

const std::string kRunningLine = "ecli: running";

// Each program's instructions after loading the object, relocated against `btf_path` (or the kernel's BTF).
std::optional<std::vector<std::string>> relocated(const std::string& elf, const std::string& btf_path,
                                                  std::string& why) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path.empty() ? nullptr : btf_path.c_str());
  struct bpf_object* obj = bpf_object__open_mem(elf.data(), elf.size(), &opts);
  if (!obj) {
    why = "cannot open";
    return std::nullopt;
  }
  std::optional<std::vector<std::string>> programs;
  if (int err = bpf_object__load(obj); err) {
    why = fmt::format("does not load here ({})", err);
  } else {
    programs.emplace();
    struct bpf_program* prog;
    bpf_object__for_each_program(prog, obj) {
      const struct bpf_insn* insns = bpf_program__insns(prog);
      programs->push_back(std::string(bpf_program__name(prog)) + ":" +
                          std::string(reinterpret_cast<const char*>(insns),
                                      bpf_program__insn_cnt(prog) * sizeof(struct bpf_insn)));
    }
  }
  bpf_object__close(obj);
  return programs;
}

TEST(CoreBtf, TheCutBtfRelocatesEveryProgramAsTheFullBtf) {
  REQUIRE_ROOT();
  libbpf_set_print([](enum libbpf_print_level, const char*, va_list) { return 0; });
  std::string kernel_btf = read_file("/sys/kernel/btf/vmlinux");
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> packages;  // name, package.json
  for (const auto& e : fs::directory_iterator(fs::path(ECLI_SOURCE_DIR) / "examples"))
    if (std::string name = e.path().filename().string(); fs::exists(example_source(name)))
      packages.emplace_back(name, example_package(name));
  for (const char* name : {"core_reads", "getppid_results", "exec_versions", "event_stacks", "container_opens"})
    packages.emplace_back(name, test_package(name));
  int compared = 0;
  std::string skipped;
  for (const auto& [name, path] : packages) {
    SCOPED_TRACE(name);
    std::string elf = package::parse_package(read_file(path)).object;
    auto roots = btf::core_roots_of_object(elf);
    if (!roots) continue;  // no CO-RE relocation, or one that needs the kernel's own ids
    auto subset = btf::core_subset(kernel_btf, *roots);
    ASSERT_TRUE(subset) << "no cut BTF for " << fmt::format("{}", fmt::join(roots->names, ", "));
    fs::path btf_file = dir / "cut.btf";
    write_file_atomic(btf_file, *subset);
    std::string why;
    auto full = relocated(elf, "", why);
    if (!full) {
      skipped += " " + name + " " + why + ";";
      continue;
    }
    auto cut = relocated(elf, btf_file.string(), why);
    ASSERT_TRUE(cut) << why;
    EXPECT_EQ(*full, *cut);
    EXPECT_LT(subset->size(), kernel_btf.size() / 10);
    compared++;
  }
  libbpf_set_print(nullptr);
  std::cout << "compared " << compared << " objects;" << (skipped.empty() ? " none skipped" : skipped) << "\n";
  EXPECT_GE(compared, 8);
}

// The first run cuts, the next uses the cached cut; both read the task's and
// its parents' fields as the kernel has them.
TEST(CoreBtf, FirstAndCachedRunsReadTheKernelsStructures) {
  REQUIRE_ROOT();
  TempDir cache;
  std::string package = test_package("core_reads");
  for (const char* expected : {"cut to the types they read", "use the cached BTF"}) {
    SCOPED_TRACE(expected);
    Trigger caller([] { getppid(); });
    Process ecli({"env", "ECLI_CACHE_DIR=" + cache.path().string(), ecli_bin(), "run", "-v", "--json", "-d", "20",
                  package});
    ASSERT_TRUE(ecli.wait_stderr(kRunningLine)) << ecli.err();
    EXPECT_NE(ecli.err().find(expected), std::string::npos) << ecli.err();
    EXPECT_EQ(ecli.err().find("/sys/kernel/btf/vmlinux"), std::string::npos) << ecli.err();  // libbpf never read it
    caller.go();
    ASSERT_TRUE(ecli.wait_stdout(fmt::format("\"pid\":{}", caller.pid()))) << ecli.out() << ecli.err();
    ecli.signal(SIGINT);
    ASSERT_EQ(ecli.wait_exit(), 0);
    bool seen = false;
    for (auto& j : json_lines(ecli.out())) {
      if (j["pid"] != caller.pid()) continue;
      seen = true;
      EXPECT_EQ(j["ppid"], getpid());
      EXPECT_EQ(j["parent_of_parent"], getppid());
      EXPECT_EQ(j["ringbuf_type"], BPF_MAP_TYPE_RINGBUF);
      EXPECT_EQ(j["has_real_parent"], 1);
      EXPECT_GT(j["mm_size"].get<uint64_t>(), 256u);
      EXPECT_GT(j["start_time"].get<uint64_t>(), 0u);
      std::string comm = read_file("/proc/self/comm");  // the caller is a fork of this process
      comm.erase(comm.find('\n'));
      EXPECT_EQ(j["comm"], comm);
      EXPECT_EQ(j["parent_comm"], comm);
    }
    EXPECT_TRUE(seen) << ecli.out();
  }
}

// A cache where the cut cannot be written (core-btf is a file): the run still
// relocates against the cut, from memory, and says it is not cached.
TEST(CoreBtf, AnUnwritableCutIsUsedFromMemory) {
  REQUIRE_ROOT();
  TempDir cache;
  write_text(cache / "core-btf", "a file, not a folder");
  Trigger caller([] { getppid(); });
  Process ecli({"env", "ECLI_CACHE_DIR=" + cache.path().string(), ecli_bin(), "run", "-v", "--json", "-d", "20",
                test_package("core_reads")});
  ASSERT_TRUE(ecli.wait_stderr(kRunningLine)) << ecli.err();
  EXPECT_NE(ecli.err().find("cut to the types they read (not cached)"), std::string::npos) << ecli.err();
  EXPECT_EQ(ecli.err().find("/sys/kernel/btf/vmlinux"), std::string::npos) << ecli.err();
  caller.go();
  ASSERT_TRUE(ecli.wait_stdout(fmt::format("\"pid\":{}", caller.pid()))) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  for (auto& j : json_lines(ecli.out())) {
    if (j["pid"] == caller.pid()) {
      EXPECT_EQ(j["ppid"], getpid());
    }
  }
  EXPECT_EQ(read_text(cache / "core-btf"), "a file, not a folder");
}

}  // namespace
}  // namespace ecli::test
