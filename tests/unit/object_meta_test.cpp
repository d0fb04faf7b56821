// Metadata from a real object compiled by clang (no kernel needed).
#include <gtest/gtest.h>

#include <filesystem>

#include "btf/object_meta.hpp"
#include "util/files.hpp"
#include "util/subprocess.hpp"

namespace ecli::btf {
namespace {

namespace fs = std::filesystem;

TEST(ObjectMeta, DescribesProgramsMapsAndTypedGlobals) {
  fs::path out = fs::temp_directory_path() / ("ecli-meta-" + std::to_string(getpid()) + ".o");
  fs::path src = fs::temp_directory_path() / ("ecli-meta-" + std::to_string(getpid()) + ".c");
  write_file_atomic(src, R"(
#define SEC(n) __attribute__((section(n), used))
typedef int pid_t;
typedef unsigned int __u32;
typedef unsigned long long u64;
enum color { RED };
const volatile pid_t pid = 0;
const volatile char comm[16] = "";
const volatile u64 big = 0;
const volatile enum color c = RED;
__u32 counter;
int data_value = 3;
static int hidden;
struct { int (*type)[2]; int (*max_entries)[16]; } events SEC(".maps");
SEC("tp/syscalls/sys_enter_write") int handle(void *ctx) { hidden++; return counter + data_value; }
char LICENSE[] SEC("license") = "GPL";
)");
  ProcessResult cc = run_process({"clang", "-g", "-O2", "-target", "bpf", "-c", src.string(), "-o", out.string()});
  ASSERT_EQ(cc.exit_code, 0) << cc.output;
  package::Meta meta = describe_object(read_file(out), "meta_bpf");
  fs::remove(out);
  fs::remove(src);

  EXPECT_EQ(meta.obj_name, "meta_bpf");
  ASSERT_EQ(meta.progs.size(), 1u);
  EXPECT_EQ(meta.progs[0].name, "handle");
  EXPECT_EQ(meta.progs[0].attach, "tp/syscalls/sys_enter_write");

  std::map<std::string, std::string> types;
  std::map<std::string, std::string> sections;
  for (auto& s : meta.data_sections)
    for (auto& v : s.variables) types[v.name] = v.type, sections[v.name] = s.name;
  EXPECT_EQ(types["pid"], "pid_t");
  EXPECT_EQ(types["comm"], "char[16]");
  EXPECT_EQ(types["big"], "u64");
  EXPECT_EQ(types["c"], "enum color");
  EXPECT_EQ(types["counter"], "__u32");
  EXPECT_EQ(sections["counter"], ".bss");
  EXPECT_EQ(sections["data_value"], ".data");
  EXPECT_EQ(types.count("hidden"), 0u);  // static: not part of the interface

  std::map<std::string, std::string> idents;
  for (auto& m : meta.maps) idents[m.name] = m.ident;
  EXPECT_EQ(idents["events"], "events");
  EXPECT_EQ(idents["meta_bpf.rodata"], "rodata");
  EXPECT_EQ(idents["meta_bpf.bss"], "bss");
}

TEST(ObjectMeta, NamesObjectsLikeEunomia) {
  EXPECT_EQ(object_name_for("/x/opensnoop.bpf.o"), "opensnoop_bpf");
  EXPECT_EQ(object_name_for("hello.bpf.c"), "hello_bpf");
  EXPECT_EQ(object_name_for("bpf_simple.o"), "bpf_simple");
  EXPECT_EQ(section_ident(".rodata.str1.1"), "rodata_str1_1");
}

}  // namespace
}  // namespace ecli::btf
