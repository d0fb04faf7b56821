// The kernel BTF cut to what CO-RE relocations read (btf/core_subset.hpp):
// kernel-like BTF built with libbpf's writer, and roots from objects compiled
// by clang with CO-RE relocations.
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>

#include "btf/core_subset.hpp"
#include "util/files.hpp"
#include "util/subprocess.hpp"

namespace ecli::btf {
namespace {

namespace fs = std::filesystem;

using BtfPtr = std::unique_ptr<struct btf, decltype(&btf__free)>;

std::string raw(const struct btf* b) {
  uint32_t size = 0;
  const void* data = btf__raw_data(b, &size);
  return std::string(static_cast<const char*>(data), size);
}

// A small "kernel": root embeds trace_entry and points at other, which embeds deep.
std::string kernel_btf(const char* root_name = "root") {
  BtfPtr b(btf__new_empty(), btf__free);
  int i = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);                  // 1
  int deep = btf__add_struct(b.get(), "deep", 4);                             // 2
  btf__add_field(b.get(), "z", i, 0, 0);
  int other = btf__add_struct(b.get(), "other", 8);                           // 3
  btf__add_field(b.get(), "a", i, 0, 0);
  btf__add_field(b.get(), "d", deep, 32, 0);
  int entry = btf__add_struct(b.get(), "trace_entry", 4);                     // 4
  btf__add_field(b.get(), "pid", i, 0, 0);
  int ptr = btf__add_ptr(b.get(), other);                                     // 5
  int arr = btf__add_array(b.get(), i, i, 4);                                 // 6
  int root = btf__add_struct(b.get(), root_name, 32);                         // 7
  btf__add_field(b.get(), "ent", entry, 0, 0);
  btf__add_field(b.get(), "p", ptr, 64, 0);
  btf__add_field(b.get(), "arr", arr, 128, 0);
  int unrelated = btf__add_struct(b.get(), "unrelated", 4);                   // 8
  btf__add_field(b.get(), "q", i, 0, 0);
  int proto = btf__add_func_proto(b.get(), i);                                // 9
  btf__add_func_param(b.get(), "r", btf__add_ptr(b.get(), root));             // 10
  btf__add_func(b.get(), "root", BTF_FUNC_GLOBAL, proto);                     // 11: same name, not a candidate
  (void)unrelated;
  return raw(b.get());
}

BtfPtr parsed(const std::string& bytes) {
  BtfPtr b(btf__new(bytes.data(), bytes.size()), btf__free);
  EXPECT_TRUE(b) << "libbpf cannot read the subset";
  return b;
}

// The cut of `kernel` for `roots`, as libbpf reads it (null when there is none).
BtfPtr cut(const std::string& kernel, CoreRoots roots) {
  auto subset = core_subset(kernel, roots);
  EXPECT_TRUE(subset);
  return subset ? parsed(*subset) : BtfPtr(nullptr, btf__free);
}

const struct btf_type* find(const struct btf* b, const char* name, __u32 kind) {
  int id = btf__find_by_name_kind(b, name, kind);
  return id > 0 ? btf__type_by_id(b, id) : nullptr;
}

TEST(CoreSubset, EssentialNamesAreLibbpfs) {
  EXPECT_EQ(essential_name("task_struct___old"), "task_struct");
  EXPECT_EQ(essential_name("a___b___c"), "a___b");
  EXPECT_EQ(essential_name("x____y"), "x____y");  // four underscores: no flavour
  EXPECT_EQ(essential_name("___x"), "___x");
  EXPECT_EQ(essential_name("ab___"), "ab___");
  EXPECT_EQ(essential_name("a___b"), "a");
  EXPECT_EQ(essential_name(""), "");
}

TEST(CoreSubset, KeepsTheRootsWhatTheyEmbedAndOnlyTheNamesBehindPointers) {
  auto subset = core_subset(kernel_btf(), CoreRoots{{"root"}, false});
  ASSERT_TRUE(subset);
  BtfPtr b = parsed(*subset);
  ASSERT_TRUE(b);
  const struct btf_type* root = find(b.get(), "root", BTF_KIND_STRUCT);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(btf_vlen(root), 3);
  EXPECT_EQ(root->size, 32u);
  const struct btf_type* entry = find(b.get(), "trace_entry", BTF_KIND_STRUCT);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(btf_vlen(entry), 1);
  // Behind a pointer: name, kind and size, no members (CO-RE never reads them).
  const struct btf_type* other = find(b.get(), "other", BTF_KIND_STRUCT);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(btf_vlen(other), 0);
  EXPECT_EQ(other->size, 8u);
  EXPECT_EQ(find(b.get(), "deep", BTF_KIND_STRUCT), nullptr);
  EXPECT_EQ(find(b.get(), "unrelated", BTF_KIND_STRUCT), nullptr);
  EXPECT_EQ(btf__find_by_name_kind(b.get(), "root", BTF_KIND_FUNC), -ENOENT);
  // Members still name their (renumbered) types.
  const struct btf_member* m = btf_members(root);
  EXPECT_STREQ(btf__name_by_offset(b.get(), m[0].name_off), "ent");
  EXPECT_EQ(btf__type_by_id(b.get(), m[0].type), entry);
  EXPECT_TRUE(btf_is_ptr(btf__type_by_id(b.get(), m[1].type)));
  EXPECT_TRUE(btf_is_array(btf__type_by_id(b.get(), m[2].type)));
  EXPECT_LT(subset->size(), kernel_btf().size());
}

TEST(CoreSubset, TypeMatchRelocationsKeepEverythingReachable) {
  BtfPtr b = cut(kernel_btf(), CoreRoots{{"root"}, true});
  ASSERT_TRUE(b);
  const struct btf_type* other = find(b.get(), "other", BTF_KIND_STRUCT);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(btf_vlen(other), 2);
  EXPECT_NE(find(b.get(), "deep", BTF_KIND_STRUCT), nullptr);
  EXPECT_EQ(find(b.get(), "unrelated", BTF_KIND_STRUCT), nullptr);
}

TEST(CoreSubset, AFullRootWinsOverTheSameTypeBehindAPointer) {
  BtfPtr b = cut(kernel_btf(), CoreRoots{{"root", "other"}, false});
  ASSERT_TRUE(b);
  const struct btf_type* other = find(b.get(), "other", BTF_KIND_STRUCT);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(btf_vlen(other), 2);
  EXPECT_NE(find(b.get(), "deep", BTF_KIND_STRUCT), nullptr);
}

TEST(CoreSubset, KernelFlavoursAreCandidatesAndMissingRootsNeedTheFullBtf) {
  BtfPtr b = cut(kernel_btf("root___v2"), CoreRoots{{"root"}, false});
  ASSERT_TRUE(b);
  EXPECT_NE(find(b.get(), "root___v2", BTF_KIND_STRUCT), nullptr);
  // Not in vmlinux: libbpf would search the modules' BTF, which needs the full one.
  EXPECT_FALSE(core_subset(kernel_btf(), CoreRoots{{"root", "nf_conn"}, false}));
}

TEST(CoreSubset, MalformedKernelBtfIsRefused) {
  std::string good = kernel_btf();
  EXPECT_FALSE(core_subset("", CoreRoots{{"root"}, false}));
  EXPECT_FALSE(core_subset(good.substr(0, good.size() / 2), CoreRoots{{"root"}, false}));
  std::string bad_magic = good;
  bad_magic[0] ^= 1;
  EXPECT_FALSE(core_subset(bad_magic, CoreRoots{{"root"}, false}));
  // A member naming a type id past the end.
  std::string bad_ref = good;
  const uint32_t header = 24, record = 12;
  // deep (id 2) follows int (record + 4 bytes); its member's type is at +4 of the member.
  uint32_t member_type_at = header + (record + 4) + record + 4;
  uint32_t huge = 1000;
  std::memcpy(bad_ref.data() + member_type_at, &huge, 4);
  EXPECT_FALSE(core_subset(bad_ref, CoreRoots{{"deep"}, false}));
}

// An object compiled with CO-RE relocations of several kinds.
std::string compile(const std::string& body) {
  fs::path dir = fs::temp_directory_path();
  std::string base = "ecli-core-subset-" + std::to_string(getpid());
  fs::path src = dir / (base + ".c"), out = dir / (base + ".o");
  write_file_atomic(src, R"(
#define SEC(n) __attribute__((section(n), used))
struct trace_entry { int pid; } __attribute__((preserve_access_index));
struct task_struct___old { int state; struct trace_entry ent; } __attribute__((preserve_access_index));
enum { BPF_TYPE_ID_LOCAL = 0, BPF_TYPE_ID_TARGET = 1 };
)" + body + "\nchar LICENSE[] SEC(\"license\") = \"GPL\";\n");
  // clang 19: type-match relocations came with clang 15.
  ProcessResult cc = run_process({"clang-19", "-g", "-O2", "-target", "bpf", "-c", src.string(), "-o", out.string()});
  EXPECT_EQ(cc.exit_code, 0) << cc.output;
  std::string elf = cc.exit_code == 0 ? read_file(out) : "";
  fs::remove(src);
  fs::remove(out);
  return elf;
}

TEST(CoreSubset, RootsComeFromTheObjectsRelocationsWithFlavoursStripped) {
  std::string elf = compile(R"(
SEC("tp/x/y") int f(struct task_struct___old *t) { return t->ent.pid + t->state; }
)");
  auto roots = core_roots_of_object(elf);
  ASSERT_TRUE(roots);
  EXPECT_EQ(roots->names, std::vector<std::string>{"task_struct"});
  EXPECT_FALSE(roots->needs_pointees);
}

TEST(CoreSubset, KernelTypeIdsNeedTheFullBtfAndTypeMatchesNeedPointees) {
  std::string target = compile(R"(
SEC("tp/x/y") int f(void *ctx) { return __builtin_btf_type_id(*(struct trace_entry *)0, BPF_TYPE_ID_TARGET); }
)");
  EXPECT_FALSE(core_roots_of_object(target));
  std::string local_only = compile(R"(
SEC("tp/x/y") int f(void *ctx) { return __builtin_btf_type_id(*(struct trace_entry *)0, BPF_TYPE_ID_LOCAL); }
)");
  EXPECT_FALSE(core_roots_of_object(local_only));  // nothing to relocate against the kernel
  std::string matches = compile(R"(
SEC("tp/x/y") int f(void *ctx) { return __builtin_preserve_type_info(*(struct trace_entry *)0, 2); }
)");
  auto roots = core_roots_of_object(matches);
  ASSERT_TRUE(roots);
  EXPECT_TRUE(roots->needs_pointees);
  EXPECT_FALSE(core_roots_of_object("not an ELF file"));
  EXPECT_FALSE(core_roots("", ""));
}

}  // namespace
}  // namespace ecli::btf
