// Symbolizer against binaries built here at test time: a C program (plain,
// stripped, with a separate debug file, with MiniDebugInfo) and a C++ one,
// run as child processes that print the addresses of their functions.
#include "symbols/symbolizer.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "symbols/kallsyms.hpp"

using namespace ecli::symbols;
namespace fs = std::filesystem;

namespace {

const char* const kProgramC = R"(#include <stdio.h>
#include <unistd.h>
volatile int sink;
__attribute__((noinline)) void* where(void) { sink++; return __builtin_return_address(0); }
static inline __attribute__((always_inline)) void* inlined_work(int x) {
  sink += x;
  void* at = where();  /* INLINE_LINE */
  sink += x;
  return at;
}
__attribute__((noinline)) void* burn_cpu(int x) {
  sink++;
  void* at = inlined_work(x);  /* CALL_LINE */
  sink++;
  return at;
}
__attribute__((noinline)) void rust_legacy(void) __asm__("_ZN4core3fmt5write17h0123456789abcdefE");
__attribute__((noinline)) void rust_legacy(void) { sink++; }
__attribute__((noinline)) void rust_v0(void) __asm__("_RNvCs1234_7mycrate3foo");
__attribute__((noinline)) void rust_v0(void) { sink++; }
int main(void) {
  void* inside = burn_cpu(1);
  printf("burn_cpu %p\ninside %p\ngetpid %p\nrust_legacy %p\nrust_v0 %p\nready\n", (void*)&burn_cpu, inside,
         (void*)&getpid, (void*)&rust_legacy, (void*)&rust_v0);
  fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {}
  return 0;
}
)";

const char* const kProgramCxx = R"(#include <cstdio>
#include <unistd.h>
volatile int sink;
namespace ns {
__attribute__((noinline)) int fn(int x) { sink += x; return sink; }
}
int main() {
  ns::fn(1);
  std::printf("fn %p\nready\n", (void*)&ns::fn);
  std::fflush(stdout);
  char c;
  while (read(0, &c, 1) > 0) {}
  return 0;
}
)";

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  EXPECT_EQ(pclose(pipe), 0) << command << "\n" << out;
  return out;
}

int line_of(const std::string& source, const std::string& marker) {
  size_t at = source.find(marker);
  return at == std::string::npos ? -1 : 1 + static_cast<int>(std::count(source.begin(), source.begin() + at, '\n'));
}

std::string build_id_hex(const fs::path& binary) {
  std::string out = run("readelf -n '" + binary.string() + "'");
  size_t at = out.find("Build ID: ");
  if (at == std::string::npos) return {};
  at += 10;
  return out.substr(at, out.find('\n', at) - at);
}

std::string bytes_of_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

// The binaries, built once for all the tests of this file.
struct Binaries {
  fs::path dir, c_source, program, stripped, nodebug, mini, cxx, debug_root;
  std::string c_text = kProgramC;
  std::string build_id;  // hex, of `program` (and `stripped`, `nodebug`, `mini`)
  bool ok = false;

  Binaries() {
    dir = fs::temp_directory_path() / ("ecli-symbolizer-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    c_source = dir / "prog.c";
    std::ofstream(c_source) << kProgramC;
    std::ofstream(dir / "prog_cxx.cpp") << kProgramCxx;
    program = dir / "prog";
    stripped = dir / "prog_stripped";
    nodebug = dir / "prog_nodebug";
    mini = dir / "prog_mini";
    cxx = dir / "prog_cxx";
    debug_root = dir / "debug";
    std::string d = dir.string();
    run("gcc -g -O1 -fno-omit-frame-pointer -Wl,--build-id -o " + d + "/prog " + c_source.string());
    run("g++ -g -O1 -fno-omit-frame-pointer -o " + d + "/prog_cxx " + d + "/prog_cxx.cpp");
    run("strip -o " + stripped.string() + " " + program.string());
    build_id = build_id_hex(program);
    if (build_id.size() < 4) return;
    // a separate debug file by build-id, and a binary without any symbols of its own
    fs::create_directories(debug_root / ".build-id" / build_id.substr(0, 2));
    run("objcopy --only-keep-debug " + program.string() + " " +
        (debug_root / ".build-id" / build_id.substr(0, 2) / (build_id.substr(2) + ".debug")).string());
    run("strip -o " + nodebug.string() + " " + program.string());
    // MiniDebugInfo: the function symbols in an xz-compressed ELF in .gnu_debugdata
    run("cd " + d + " && objcopy --only-keep-debug prog mini.debug && objcopy -S --remove-section .gdb_index"
        " --remove-section .comment --keep-symbol=burn_cpu mini.debug mini_debuginfo && xz -f mini_debuginfo &&"
        " strip -o prog_mini prog && objcopy --add-section .gnu_debugdata=mini_debuginfo.xz prog_mini");
    ok = fs::exists(program) && fs::exists(stripped) && fs::exists(cxx) && fs::exists(nodebug) && fs::exists(mini);
  }
  ~Binaries() { fs::remove_all(dir); }
};

Binaries& binaries() {
  static Binaries b;
  return b;
}

// A running copy of a test program, stopped on its stdin, with the addresses it printed.
struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;
  std::map<std::string, uint64_t> addresses;

  explicit Child(const fs::path& program) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      execl(program.c_str(), program.c_str(), nullptr);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_fd = in[1];
    FILE* f = fdopen(out[0], "r");
    char line[256];
    while (fgets(line, sizeof line, f)) {
      std::istringstream words(line);
      std::string name, value;
      words >> name >> value;
      if (name == "ready") break;
      addresses[name] = std::stoull(value, nullptr, 16);
    }
    fclose(f);
  }
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
    close(stdin_fd);
  }
  ~Child() { stop(); }
  // The file offset of `address` in this process, from its maps.
  uint64_t file_offset(uint64_t address) const {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
      unsigned long long start, end, offset;
      if (sscanf(line.c_str(), "%llx-%llx %*s %llx", &start, &end, &offset) == 3 && address >= start && address < end)
        return address - start + offset;
    }
    return ~0ull;
  }
};

#define REQUIRE_BINARIES() \
  if (!binaries().ok) GTEST_FAIL() << "could not build the test programs in " << binaries().dir

// One frame, with that symbol and module.
void expect_one(const std::vector<Frame>& frames, const std::string& symbol, const std::string& module) {
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].symbol, symbol);
  EXPECT_EQ(frames[0].module, module);
}

}  // namespace

TEST(Symbolizer, ResolvesFunctionsOfARunningProcess) {
  REQUIRE_BINARIES();
  Child child(binaries().program);
  ASSERT_TRUE(child.addresses.count("burn_cpu"));
  Symbolizer s;
  const auto& frames = s.user(child.pid, child.addresses["burn_cpu"]);
  ASSERT_NO_FATAL_FAILURE(expect_one(frames, "burn_cpu", "prog"));
  EXPECT_EQ(frames[0].offset, 0u);
  EXPECT_EQ(frames[0].address, child.addresses["burn_cpu"]);
  EXPECT_FALSE(frames[0].inlined);
  EXPECT_TRUE(frames[0].file.empty());  // no lines asked for

  const auto& again = s.user(child.pid, child.addresses["burn_cpu"]);
  EXPECT_EQ(&again, &frames);  // cached

  const auto& libc = s.user(child.pid, child.addresses["getpid"]);
  ASSERT_EQ(libc.size(), 1u);
  EXPECT_EQ(libc[0].module, "libc.so.6");
  EXPECT_EQ(libc[0].symbol, "getpid");  // preferred to its alias __getpid
  EXPECT_EQ(libc[0].offset, 0u);

  const auto& legacy = s.user(child.pid, child.addresses["rust_legacy"]);
  EXPECT_EQ(legacy[0].symbol, "core::fmt::write");
  const auto& v0 = s.user(child.pid, child.addresses["rust_v0"]);
  EXPECT_EQ(v0[0].symbol, "mycrate::foo");
}

TEST(Symbolizer, DemanglesCxx) {
  REQUIRE_BINARIES();
  Child child(binaries().cxx);
  ASSERT_TRUE(child.addresses.count("fn"));
  Symbolizer s;
  const auto& frames = s.user(child.pid, child.addresses["fn"]);
  ASSERT_NO_FATAL_FAILURE(expect_one(frames, "ns::fn(int)", "prog_cxx"));
}

TEST(Symbolizer, InlinedFramesAndLines) {
  REQUIRE_BINARIES();
  Child child(binaries().program);
  ASSERT_TRUE(child.addresses.count("inside"));
  Symbolizer s({.lines = true});
  uint64_t call = child.addresses["inside"] - 1;  // the call instruction, inside the inlined code
  const auto& frames = s.user(child.pid, call);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].symbol, "inlined_work");
  EXPECT_TRUE(frames[0].inlined);
  EXPECT_EQ(fs::path(frames[0].file).filename(), "prog.c");
  EXPECT_EQ(frames[0].line, line_of(binaries().c_text, "INLINE_LINE"));
  EXPECT_EQ(frames[1].symbol, "burn_cpu");
  EXPECT_FALSE(frames[1].inlined);
  EXPECT_EQ(frames[1].module, "prog");
  EXPECT_EQ(fs::path(frames[1].file).filename(), "prog.c");
  EXPECT_EQ(frames[1].line, line_of(binaries().c_text, "CALL_LINE"));
  EXPECT_EQ(frames[1].offset, call - child.addresses["burn_cpu"]);
  for (const auto& f : frames) EXPECT_EQ(f.address, call);

  // a function without inlines: one frame with its line
  const auto& plain = s.user(child.pid, child.addresses["burn_cpu"]);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].symbol, "burn_cpu");
  EXPECT_GT(plain[0].line, 0);
}

TEST(Symbolizer, StrippedBinaryGivesModuleAndFileOffset) {
  REQUIRE_BINARIES();
  Child child(binaries().stripped);
  ASSERT_TRUE(child.addresses.count("burn_cpu"));
  Symbolizer s({.lines = true, .debug_root = (binaries().dir / "nothing").string()});
  uint64_t address = child.addresses["burn_cpu"];
  const auto& frames = s.user(child.pid, address);
  ASSERT_NO_FATAL_FAILURE(expect_one(frames, "", "prog_stripped"));
  EXPECT_EQ(frames[0].offset, child.file_offset(address));
  // its exported libc still has symbols
  EXPECT_EQ(s.user(child.pid, child.addresses["getpid"])[0].module, "libc.so.6");
}

TEST(Symbolizer, RememberedProcessResolvesAfterItExits) {
  REQUIRE_BINARIES();
  Child child(binaries().program);
  ASSERT_TRUE(child.addresses.count("burn_cpu"));
  Symbolizer s;
  s.remember_process(child.pid);
  s.remember_process(child.pid);  // unchanged: cheap, same snapshot
  Child other(binaries().program);
  pid_t gone_unseen = other.pid;
  uint64_t other_address = other.addresses["burn_cpu"];
  pid_t pid = child.pid;
  child.stop();
  other.stop();
  const auto& frames = s.user(pid, child.addresses["burn_cpu"]);
  ASSERT_NO_FATAL_FAILURE(expect_one(frames, "burn_cpu", "prog"));
  EXPECT_EQ(s.user(pid, child.addresses["getpid"])[0].module, "libc.so.6");

  const auto& unknown = s.user(gone_unseen, other_address);
  ASSERT_NO_FATAL_FAILURE(expect_one(unknown, "", ""));
  EXPECT_EQ(unknown[0].address, other_address);
}

TEST(Symbolizer, SeparateDebugFileByBuildId) {
  REQUIRE_BINARIES();
  Child child(binaries().nodebug);
  ASSERT_TRUE(child.addresses.count("burn_cpu"));
  uint64_t address = child.addresses["burn_cpu"];
  {
    Symbolizer without({.debug_root = (binaries().dir / "nothing").string()});
    EXPECT_EQ(without.user(child.pid, address)[0].symbol, "");
  }
  Symbolizer s({.lines = true, .debug_root = binaries().debug_root.string()});
  const auto& frames = s.user(child.pid, address);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().symbol, "burn_cpu");
  EXPECT_EQ(frames.back().module, "prog_nodebug");
  EXPECT_EQ(frames.back().offset, 0u);
  EXPECT_EQ(fs::path(frames.back().file).filename(), "prog.c");
  const auto& inlined = s.user(child.pid, child.addresses["inside"] - 1);
  ASSERT_EQ(inlined.size(), 2u);
  EXPECT_EQ(inlined[0].symbol, "inlined_work");
}

TEST(Symbolizer, MiniDebugInfo) {
  REQUIRE_BINARIES();
  Child child(binaries().mini);
  ASSERT_TRUE(child.addresses.count("burn_cpu"));
  Symbolizer s({.debug_root = (binaries().dir / "nothing").string()});
  const auto& frames = s.user(child.pid, child.addresses["burn_cpu"]);
  ASSERT_NO_FATAL_FAILURE(expect_one(frames, "burn_cpu", "prog_mini"));
}

TEST(Symbolizer, ByBuildId) {
  REQUIRE_BINARIES();
  std::string id = bytes_of_hex(binaries().build_id);
  uint64_t offset;
  {
    Child child(binaries().program);
    offset = child.file_offset(child.addresses["burn_cpu"]);
    // a binary already seen this run
    Symbolizer s({.debug_root = (binaries().dir / "nothing").string()});
    EXPECT_EQ(s.user(child.pid, child.addresses["burn_cpu"])[0].symbol, "burn_cpu");
    const auto& frames = s.user_by_build_id(id, offset);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].symbol, "burn_cpu");
    EXPECT_EQ(frames[0].module, "prog");
    EXPECT_EQ(frames[0].address, offset);
  }
  // only in DEBUG_ROOT/.build-id/xx/rest.debug
  Symbolizer s({.debug_root = binaries().debug_root.string()});
  const auto& frames = s.user_by_build_id(id, offset);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].symbol, "burn_cpu");
  EXPECT_EQ(frames[0].offset, 0u);
  // DEBUG_ROOT/.build-id/xx/rest linking to the executable: named after it
  {
    fs::path root = binaries().dir / "debug-with-link";
    std::string hex = binaries().build_id;
    fs::create_directories(root / ".build-id" / hex.substr(0, 2));
    fs::create_symlink(binaries().program, root / ".build-id" / hex.substr(0, 2) / hex.substr(2));
    Symbolizer linked({.debug_root = root.string()});
    const auto& f = linked.user_by_build_id(id, offset);
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].symbol, "burn_cpu");
    EXPECT_EQ(f[0].module, "prog");
  }
  // unknown anywhere
  const auto& unknown = s.user_by_build_id(std::string("\x01\x02\xab", 3), 0x1234);
  ASSERT_NO_FATAL_FAILURE(expect_one(unknown, "", "[build-id 0102ab]"));
  EXPECT_EQ(unknown[0].offset, 0x1234u);
  EXPECT_EQ(s.user_by_build_id("", 5)[0].module, "[build-id ]");
}

TEST(Symbolizer, KernelAddresses) {
  std::ifstream in("/proc/kallsyms");
  std::string line, core_name, module_name, module;
  uint64_t core = 0, in_module = 0;
  while (std::getline(in, line) && (!core || !in_module)) {
    char name[256], mod[256] = "";
    unsigned long long address;
    char type;
    int n = sscanf(line.c_str(), "%llx %c %255s [%255[^]]]", &address, &type, name, mod);
    if (n < 3 || address == 0 || (type != 'T' && type != 't')) continue;
    if (n == 3 && !core && type == 'T') core = address, core_name = name;
    if (n == 4 && !in_module) in_module = address, module_name = name, module = mod;
  }
  if (!core) GTEST_SKIP() << "kernel addresses hidden (kptr_restrict)";
  Symbolizer s;
  const auto& frames = s.kernel(core + 1);
  ASSERT_EQ(frames.size(), 1u);
  // aliases at one address: any of them is right, but it must be a core kernel symbol
  EXPECT_EQ(frames[0].module, "kernel");
  EXPECT_FALSE(frames[0].symbol.empty());
  EXPECT_EQ(frames[0].address, core + 1);
  if (frames[0].symbol == core_name) {
    EXPECT_EQ(frames[0].offset, 1u);
  }
  EXPECT_EQ(&s.kernel(core + 1), &frames);
  if (in_module) {
    const auto& m = s.kernel(in_module);
    EXPECT_EQ(m[0].module, module);
  }
  EXPECT_EQ(s.kernel(0)[0].symbol, "");
  EXPECT_EQ(s.kernel(0)[0].module, "");
}

TEST(Symbolizer, KallsymsKeepsModuleNames) {
  Kallsyms k("ffffffff81000000 T _stext\nffffffffc0001000 t ext4_foo\t[ext4]\nffffffffc0002000 t end_x\t[ext4]\n");
  auto core = k.lookup(0xffffffff81000010);
  ASSERT_TRUE(core);
  EXPECT_EQ(core->name, "_stext");
  EXPECT_EQ(core->module, "");
  auto mod = k.lookup(0xffffffffc0001004);
  ASSERT_TRUE(mod);
  EXPECT_EQ(mod->name, "ext4_foo");
  EXPECT_EQ(mod->offset, 4u);
  EXPECT_EQ(mod->module, "ext4");
}

TEST(Symbolizer, BadInputDoesNotCrash) {
  REQUIRE_BINARIES();
  Symbolizer s;
  EXPECT_EQ(s.user(0, 0x1234)[0].module, "");  // kernel thread
  EXPECT_EQ(s.user(getpid(), 0)[0].module, "");
  EXPECT_EQ(s.user(getpid(), 8)[0].symbol, "");  // unmapped
  EXPECT_EQ(s.user(0x7ffffff0, 0x1234)[0].module, "");  // no such process
  // non-ELF and truncated ELF files mapped into this process
  std::vector<void*> mapped;
  for (const char* name : {"truncated", "text"}) {
    fs::path file = binaries().dir / name;
    {
      std::ifstream src(binaries().program, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(src)), {});
      std::ofstream(file, std::ios::binary) << (name == std::string("text") ? std::string(8192, 'x') : bytes.substr(0, 8192));
    }
    int fd = open(file.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    void* at = mmap(nullptr, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    close(fd);
    ASSERT_NE(at, MAP_FAILED);
    const auto& frames = s.user(getpid(), reinterpret_cast<uint64_t>(at) + 4100);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].module, name);
    EXPECT_EQ(frames[0].symbol, "");
    EXPECT_EQ(frames[0].offset, 4100u);
    mapped.push_back(at);  // unmapped at the end: a new mapping at the same address would hit the cache
  }
  for (void* at : mapped) munmap(at, 8192);
  // the test binary itself: a big C++ binary with symbols
  const auto& mine = s.user(getpid(), reinterpret_cast<uint64_t>(&binaries));
  EXPECT_FALSE(mine[0].module.empty());
  EXPECT_NE(mine[0].symbol.find("binaries"), std::string::npos) << mine[0].symbol;
}
