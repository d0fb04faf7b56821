// The map-role analysis (issue 9): which maps and globals the programs fill for
// user space, read from small sources with ecc-clang, and how `@print`,
// `@sample` and merge_docs put the roles into the metadata.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "compiler/docs_reader.hpp"
#include "compiler/ecc.hpp"
#include "util/files.hpp"

namespace ecli::compiler {
namespace {

namespace fs = std::filesystem;

// What bpf_helpers.h and vmlinux.h give a program, cut down.
constexpr const char* kPrelude = R"(
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int pid_t;
enum bpf_map_type {
  BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2, BPF_MAP_TYPE_PROG_ARRAY = 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4, BPF_MAP_TYPE_PERCPU_HASH = 5, BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_STACK_TRACE = 7, BPF_MAP_TYPE_LRU_HASH = 9, BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
  BPF_MAP_TYPE_RINGBUF = 27, BPF_MAP_TYPE_TASK_STORAGE = 29,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1 };
enum { HI_SOFTIRQ = 0, TIMER_SOFTIRQ, NET_TX_SOFTIRQ, NET_RX_SOFTIRQ, NR_SOFTIRQS };
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *) 2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *) 3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *) 5;
static long (*bpf_tail_call)(void *ctx, void *prog_array_map, __u32 index) = (void *) 12;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *) 14;
static long (*bpf_get_current_comm)(void *buf, __u32 size_of_buf) = (void *) 16;
static long (*bpf_get_stackid)(void *ctx, void *map, __u64 flags) = (void *) 27;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *) 113;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *) 130;
static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *) 25;
static long (*bpf_get_stack)(void *ctx, void *buf, __u32 size, __u64 flags) = (void *) 67;
static long (*bpf_get_task_stack)(void *task, void *buf, __u32 size, __u64 flags) = (void *) 141;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *) 131;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *) 132;
enum { BPF_F_SKIP_FIELD_MASK = 0xffULL, BPF_F_USER_STACK = (1ULL << 8), BPF_F_FAST_STACK_CMP = (1ULL << 9),
       BPF_F_REUSE_STACKID = (1ULL << 10), BPF_F_USER_BUILD_ID = (1ULL << 11) };
)";

class MapRoles : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("ecli-roles-" + std::to_string(getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  SourceDocs extract(const std::string& code) {
    std::ofstream(dir / "prelude.h") << kPrelude;
    fs::path file = dir / "x.bpf.c";
    std::ofstream(file) << "#include \"prelude.h\"\n" << code;
    return extract_docs(file.string(), {"-target", "bpf", "-I" + dir.string()});
  }
  std::map<std::string, std::string> roles(const std::string& code) {
    std::map<std::string, std::string> out;
    for (const auto& [name, info] : extract(code).roles) out[name] = info.value("role", "");
    return out;
  }
};

TEST_F(MapRoles, RunqlatLikeStartIsStateAndHistogramsAreResults) {
  auto r = roles(R"(
#define MAX_SLOTS 26
struct hist { __u32 slots[MAX_SLOTS]; char comm[16]; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, __u32); __type(value, __u64); } start SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, __u32); __type(value, struct hist); } hists SEC(".maps");
static struct hist zero;
const volatile pid_t targ_tgid = 0;

static int trace_enqueue(__u32 pid) {
  __u64 ts = bpf_ktime_get_ns();
  if (targ_tgid && targ_tgid != pid) return 0;
  bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
  return 0;
}

SEC("tp_btf/sched_wakeup")
int wakeup(void *ctx) { return trace_enqueue(bpf_get_current_pid_tgid()); }

SEC("tp_btf/sched_switch")
int handle_switch(void *ctx) {
  __u32 pid = bpf_get_current_pid_tgid(), hkey = -1;
  __u64 *tsp = bpf_map_lookup_elem(&start, &pid);
  struct hist *histp;
  long long delta;
  if (!tsp) return 0;
  delta = bpf_ktime_get_ns() - *tsp;
  histp = bpf_map_lookup_elem(&hists, &hkey);
  if (!histp) {
    bpf_map_update_elem(&hists, &hkey, &zero, BPF_NOEXIST);
    histp = bpf_map_lookup_elem(&hists, &hkey);
    if (!histp) goto cleanup;
  }
  if (!histp->comm[0]) bpf_get_current_comm(&histp->comm, sizeof(histp->comm));
  __sync_fetch_and_add(&histp->slots[delta & 15], 1);
cleanup:
  bpf_map_delete_elem(&start, &pid);
  return 0;
}
)");
  EXPECT_EQ(r["start"], "state");
  EXPECT_EQ(r["hists"], "result");
  EXPECT_EQ(r["targ_tgid"], "option");
  EXPECT_EQ(r["zero"], "option");
}

TEST_F(MapRoles, MapOnlyLookedUpIsConfig) {
  auto r = roles(R"(
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u32); } allowed SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u32); } unused SEC(".maps");
SEC("tp/x/y")
int prog(void *ctx) {
  __u32 pid = bpf_get_current_pid_tgid();
  __u32 *ok = bpf_map_lookup_elem(&allowed, &pid);
  return ok && *ok ? 1 : 0;
}
)");
  EXPECT_EQ(r["allowed"], "config");
  EXPECT_EQ(r["unused"], "other");
}

TEST_F(MapRoles, PerCpuHeapForRingbufOutputIsScratch) {
  auto r = roles(R"(
struct event { __u32 pid; char comm[16]; char path[256]; };
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct event); } heap SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, struct event); } perf_heap SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 20); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf_events SEC(".maps");
SEC("tp/x/y")
int prog(void *ctx) {
  __u32 zero = 0;
  struct event *e = bpf_map_lookup_elem(&heap, &zero);
  if (!e) return 0;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  bpf_get_current_comm(e->comm, sizeof(e->comm));
  bpf_ringbuf_output(&events, e, sizeof(*e), 0);
  return 0;
}
static void fill(struct event *e, void *src) { bpf_probe_read_kernel(e->path, sizeof(e->path), src); }
SEC("tp/x/z")
int prog2(void *ctx) {
  __u32 zero = 0;
  struct event *e = bpf_map_lookup_elem(&perf_heap, &zero);
  if (!e) return 0;
  fill(e, ctx);
  bpf_perf_event_output(ctx, &perf_events, 0xffffffffULL, e, sizeof(*e));
  return 0;
}
)");
  EXPECT_EQ(r["heap"], "scratch");
  EXPECT_EQ(r["perf_heap"], "scratch");
  EXPECT_EQ(r["events"], "events");
  EXPECT_EQ(r["perf_events"], "events");
}

TEST_F(MapRoles, SyscountLikeCountersAreResults) {
  auto r = roles(R"(
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, __u64); } last_seen SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } total SEC(".maps");
struct data { __u64 count; __u64 total_ns; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, struct data); } data SEC(".maps");
static void *lookup_or_init(void *map, const void *key, const void *init) {
  void *v = bpf_map_lookup_elem(map, key);
  if (v) return v;
  bpf_map_update_elem(map, key, init, BPF_NOEXIST);
  return bpf_map_lookup_elem(map, key);
}
static void account(struct data *d, __u64 ns) { d->count++; d->total_ns += ns; }
SEC("tp/raw_syscalls/sys_exit")
int sys_exit(void *ctx) {
  __u32 id = bpf_get_current_pid_tgid(), zero = 0;
  __u64 *count = bpf_map_lookup_elem(&counts, &id), now = bpf_ktime_get_ns(), one = 1;
  if (count) (*count)++;
  else bpf_map_update_elem(&counts, &id, &one, BPF_ANY);
  bpf_map_update_elem(&last_seen, &id, &now, BPF_ANY);
  __u64 *t = bpf_map_lookup_elem(&total, &zero);
  if (t) *t += 1;
  static const struct data empty;
  struct data *d = lookup_or_init(&data, &id, &empty);
  if (d) account(d, now);
  return 0;
}
)");
  EXPECT_EQ(r["counts"], "result");
  EXPECT_EQ(r["last_seen"], "result");
  EXPECT_EQ(r["total"], "result");
  EXPECT_EQ(r["data"], "result");
}

TEST_F(MapRoles, WrittenThroughAHelperFunctionIsAResult) {
  auto r = roles(R"(
struct val { __u64 bytes; };
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, struct val); } bytes SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, struct val); } seen SEC(".maps");
static void add(void *map, __u32 key, __u64 n) {
  struct val *v = bpf_map_lookup_elem(map, &key);
  if (v) __sync_fetch_and_add(&v->bytes, n);
}
static __u64 peek(void *map, __u32 key) {
  struct val *v = bpf_map_lookup_elem(map, &key);
  return v ? v->bytes : 0;
}
SEC("tp/x/y")
int prog(void *ctx) { add(&bytes, 1, 100); return peek(&seen, 1) > 0; }
)");
  EXPECT_EQ(r["bytes"], "result");
  EXPECT_EQ(r["seen"], "config");
}

TEST_F(MapRoles, MapTypesDecideWithoutLookingAtUse) {
  auto r = roles(R"(
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(max_entries, 1024); __uint(key_size, 4); __uint(value_size, 1016); } stacks SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } jumps SEC(".maps");
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); };
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, __u32); __array(values, struct inner); } outer SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_TASK_STORAGE); __uint(map_flags, 1); __type(key, int); __type(value, __u64); } task_ts SEC(".maps");
SEC("perf_event")
int prog(void *ctx) {
  __u32 zero = 0;
  long id = bpf_get_stackid(ctx, &stacks, 0);
  void *m = bpf_map_lookup_elem(&outer, &zero);
  bpf_tail_call(ctx, &jumps, 0);
  return id > 0 && m;
}
)");
  EXPECT_EQ(r["stacks"], "stack_traces");
  EXPECT_EQ(r["jumps"], "programs");
  EXPECT_EQ(r["outer"], "maps");
  EXPECT_EQ(r["task_ts"], "state");
}

TEST_F(MapRoles, WrittenGlobalsAreResultsAndEnumLengthsNameTheirRows) {
  SourceDocs docs = extract(R"(
#define MAX_SLOTS 20
struct hist { __u32 slots[MAX_SLOTS]; };
enum irq_kind { IRQ_A = 0, IRQ_B = 1, IRQ_C = 3, NR_IRQ_KINDS = 4 };
const volatile pid_t targ_pid = 0;
const volatile int targ_cpu = -1;
__u64 counts[NR_SOFTIRQS] = {};
struct hist hists[NR_SOFTIRQS] = {};
__u64 by_kind[NR_IRQ_KINDS] = {};
__u64 per_cpu[128] = {};
__u64 total = 0;
struct { __u64 calls; __u64 ns; } stats = {};
int unused_flag = 0;
__u64 start_ns = 0;
__u64 seq = 0;
__u32 calls;
__u64 start[4] = {};
__u64 next_id = 0;
SEC("tp/irq/softirq_exit")
int prog(void *ctx) {
  __u32 vec = bpf_get_current_pid_tgid() & 3;
  if (targ_pid && targ_pid != (pid_t)bpf_get_current_pid_tgid()) return 0;
  __sync_fetch_and_add(&counts[vec], 1);
  struct hist *h = &hists[vec];
  h->slots[vec & 7]++;
  by_kind[vec] += 2;
  __u64 *slot = per_cpu;
  slot[vec] = bpf_ktime_get_ns();
  total++;
  stats.ns += bpf_ktime_get_ns() - start_ns;
  __u64 stamp = ++seq;
  if (calls++ == 0) stamp++;
  start[vec] = bpf_ktime_get_ns();
  stamp += bpf_ktime_get_ns() - start[(vec + 1) & 3];
  stamp += __sync_fetch_and_add(&next_id, 1);
  return unused_flag + targ_cpu + stamp;
}
)");
  auto role = [&](const char* name) { return docs.roles[name].value("role", ""); };
  EXPECT_EQ(role("targ_pid"), "option");
  EXPECT_EQ(role("targ_cpu"), "option");
  EXPECT_EQ(role("unused_flag"), "option");
  EXPECT_EQ(role("start_ns"), "option");
  for (const char* written : {"counts", "hists", "by_kind", "per_cpu", "total", "stats"})
    EXPECT_EQ(role(written), "result") << written;
  // Written and read back: a sequence number, a once-flag, start times, an id counter.
  for (const char* state : {"seq", "calls", "start", "next_id"}) EXPECT_EQ(role(state), "state") << state;
  package::Json softirqs = {"HI_SOFTIRQ", "TIMER_SOFTIRQ", "NET_TX_SOFTIRQ", "NET_RX_SOFTIRQ"};
  EXPECT_EQ(docs.roles["counts"]["index_names"], softirqs);
  EXPECT_EQ(docs.roles["hists"]["index_names"], softirqs);
  // A named enum with a gap: the missing value is named by its number.
  EXPECT_EQ(docs.roles["by_kind"]["index_names"], package::Json({"IRQ_A", "IRQ_B", "2", "IRQ_C"}));
  EXPECT_FALSE(docs.roles["per_cpu"].contains("index_names"));
}

TEST_F(MapRoles, PrintAndSampleAnnotationsOverrideAndMergeDocsWritesTheRoles) {
  SourceDocs docs = extract(R"(
/// @print false
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } noisy SEC(".maps");
/// @print
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } shown SEC(".maps");
/// @sample {"interval": 1000, "type": "default_kv"}
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } sampled SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } plain SEC(".maps");
/// @print false
__u64 hidden_total = 0;
__u64 counts[NR_SOFTIRQS] = {};
__u64 seq = 0;
const volatile int targ = 0;
SEC("tp/x/y")
int prog(void *ctx) {
  __u32 k = targ; __u64 one = 1;
  bpf_map_update_elem(&noisy, &k, &one, BPF_ANY);
  bpf_map_update_elem(&plain, &k, &one, BPF_ANY);
  __u64 *v = bpf_map_lookup_elem(&shown, &k);
  __u64 *s = bpf_map_lookup_elem(&sampled, &k);
  hidden_total++;
  counts[k & 3]++;
  k += ++seq;
  return (v ? *v : 0) + (s ? *s : 0);
}
)");
  package::Meta meta;
  meta.data_sections.push_back({".bss", {{"hidden_total", "__u64", "", nullptr, {}}, {"counts", "__u64[4]", "", nullptr, {}}, {"seq", "__u64", "", nullptr, {}}}});
  meta.data_sections.push_back({".rodata", {{"targ", "int", "", nullptr, {}}}});
  for (const char* name : {"noisy", "shown", "sampled", "plain"}) meta.maps.push_back({name, name, false, nullptr, {}});
  meta.maps.push_back({"x_bss", "bss", true, nullptr, {}});
  merge_docs(meta, docs);
  EXPECT_EQ(meta.maps[0].extra["role"], "quiet");
  EXPECT_FALSE(meta.maps[0].extra.contains("print"));
  EXPECT_EQ(meta.maps[1].extra["role"], "result");
  EXPECT_EQ(meta.maps[2].extra["role"], "result");
  EXPECT_EQ(meta.maps[2].sample["type"], "default_kv");  // @sample keeps working
  EXPECT_EQ(meta.maps[3].extra["role"], "result");
  EXPECT_EQ(meta.maps[4].extra["role"], "other");
  EXPECT_EQ(meta.data_sections[0].variables[0].extra["role"], "option");
  EXPECT_EQ(meta.data_sections[0].variables[1].extra["role"], "result");
  EXPECT_EQ(meta.data_sections[0].variables[1].extra["index_names"][3], "NET_RX_SOFTIRQ");
  EXPECT_EQ(meta.data_sections[1].variables[0].extra["role"], "option");
  EXPECT_EQ(meta.data_sections[0].variables[2].extra["role"], "state");
  // Written with the package and read back: the keys survive.
  package::Meta again = package::meta_from_json(package::meta_to_json(meta));
  EXPECT_EQ(again.maps[0].extra["role"], "quiet");
  EXPECT_EQ(again.data_sections[0].variables[1].extra["index_names"][0], "HI_SOFTIRQ");
}

// The real ecc on the real example: only reads kernel BTF for vmlinux.h (no
// privileges, nothing loaded).
TEST(EccRoles, RunqlatPackageCarriesTheRoles) {
  fs::path dir = fs::temp_directory_path() / ("ecli-roles-ecc-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::copy_file(fs::path(ECLI_SOURCE_DIR) / "examples/runqlat/runqlat.bpf.c", dir / "runqlat.bpf.c");
  std::string command = std::string(ECC_BIN) + " -q " + (dir / "runqlat.bpf.c").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  package::Json whole = package::Json::parse(read_file(dir / "package.json"))["meta"];
  package::Json meta = whole["bpf_skel"];
  fs::remove_all(dir);
  EXPECT_FALSE(whole.contains("stack_fields"));  // no field holds a stack
  std::map<std::string, std::string> roles;
  for (const auto& m : meta["maps"]) roles[m["name"]] = m.value("role", "");
  EXPECT_EQ(roles["start"], "state");
  EXPECT_EQ(roles["hists"], "result");
  for (const auto& section : meta["data_sections"])
    for (const auto& v : section["variables"]) EXPECT_EQ(v.value("role", ""), "option") << v["name"];
}

// Stack fields (stack_fields.hpp): which struct fields hold stack ids or
// stack addresses, for meta.stack_fields.
using StackFields = MapRoles;

TEST_F(StackFields, LibbpfToolsProfileKeyHoldsKernelAndUserStackIds) {
  SourceDocs docs = extract(R"(
struct pt_regs { long ip; };
struct bpf_perf_event_data { struct pt_regs regs; __u64 sample_period; };
struct key_t { __u32 pid; int user_stack_id; int kern_stack_id; char name[16]; };
const volatile int user_stacks_only = 0, kernel_stacks_only = 0;
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __type(key, __u32); } stackmap SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, struct key_t); __type(value, __u64); } counts SEC(".maps");
/// @perf {"event": "cpu-clock", "frequency": 99}
SEC("perf_event")
int do_perf_event(struct bpf_perf_event_data *ctx) {
  struct key_t key = {};
  __u64 id = bpf_get_current_pid_tgid(), one = 1;
  key.pid = id >> 32;
  if (user_stacks_only)
    key.kern_stack_id = -1;
  else
    key.kern_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, 0);
  if (kernel_stacks_only)
    key.user_stack_id = -1;
  else
    key.user_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, BPF_F_USER_STACK);
  bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
  return 0;
}
)");
  EXPECT_EQ(docs.stack_fields, package::Json::parse(R"({
    "struct key_t": {
      "kern_stack_id": {"kind": "id", "map": "stackmap", "user": false},
      "user_stack_id": {"kind": "id", "map": "stackmap", "user": true}
    }})")) << docs.stack_fields.dump(2);
  EXPECT_TRUE(docs.warnings.empty()) << docs.warnings.front();
  // `@perf` on the program reaches its metadata (meta.bpf_skel.progs[i].perf).
  package::Meta meta;
  meta.progs.push_back({"do_perf_event", "perf_event", true, {}});
  merge_docs(meta, docs);
  EXPECT_EQ(meta.progs[0].extra["perf"], package::Json::parse(R"({"event": "cpu-clock", "frequency": 99})"));
  package::Meta again = package::meta_from_json(package::meta_to_json(meta));
  EXPECT_EQ(again.progs[0].extra["perf"]["frequency"], 99);
}

TEST_F(StackFields, OffcputimeLikeNestedKeyFlagsGlobalsLocalsAndHelpers) {
  SourceDocs docs = extract(R"(
struct key_t { __u32 pid; __u32 tgid; int user_stack_id; int kern_stack_id; char name[16]; };
struct internal_key { __u64 start_ts; struct key_t key; };
typedef struct { int stack; int other; } sample_t;
struct wakeup { int waker_stack; struct { int wakee_stack; }; };
struct task_struct;
const volatile __u64 stack_flags = 0;
__u64 extra_flags = 0;
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(key_size, 4); __uint(value_size, 1016); } stackmap SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(key_size, 4); __uint(value_size, 1016); } stack_traces SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, __u32); __type(value, struct internal_key); } start SEC(".maps");
static int record(void *ctx, int kthread) {
  struct internal_key i = {};
  __u32 pid = bpf_get_current_pid_tgid();
  if (kthread)
    i.key.user_stack_id = -1;
  else
    i.key.user_stack_id = bpf_get_stackid(ctx, &stackmap, BPF_F_USER_STACK | stack_flags);
  i.key.kern_stack_id = bpf_get_stackid(ctx, &stackmap, stack_flags);
  bpf_map_update_elem(&start, &pid, &i, BPF_ANY);
  return 0;
}
SEC("tp_btf/sched_switch")
int sched_switch(void *ctx) { return record(ctx, 0); }
SEC("tp_btf/sched_wakeup")
int wakeup(void *ctx) {
  __u64 flags = BPF_F_FAST_STACK_CMP | BPF_F_USER_STACK;
  long id = bpf_get_stackid(ctx, &stack_traces, flags);
  sample_t s = { .other = 1, .stack = bpf_get_stackid(ctx, &stack_traces, extra_flags) };
  struct wakeup w = {};
  w.waker_stack = id;
  id = 3;
  w.wakee_stack = id;  // no longer a stack id
  return s.stack + w.waker_stack;
}
)");
  EXPECT_EQ(docs.stack_fields, package::Json::parse(R"({
    "sample_t": {
      "stack": {"kind": "id", "map": "stack_traces", "user": false}
    },
    "struct key_t": {
      "kern_stack_id": {"kind": "id", "map": "stackmap", "user": false},
      "user_stack_id": {"kind": "id", "map": "stackmap", "user": true}
    },
    "struct wakeup": {
      "waker_stack": {"kind": "id", "map": "stack_traces", "user": true}
    }})")) << docs.stack_fields.dump(2);
}

TEST_F(StackFields, EunomiaProfileEventCarriesAddressesAndTheirSizes) {
  // As in eunomia-bpf's example, the event struct comes from a header.
  std::ofstream(dir / "profile.h") << R"(
#define MAX_STACK_DEPTH 128
typedef __u64 stack_trace_t[MAX_STACK_DEPTH];
struct stacktrace_event {
  __u32 pid; __u32 cpu_id; char comm[16];
  int kstack_sz; int ustack_sz;
  stack_trace_t kstack; stack_trace_t ustack;
};
)";
  SourceDocs docs = extract(R"(
#include "profile.h"
struct task_event { long n; __u64 frames[32]; __u64 build[32]; };
/// @intepreter {"stack_trace": {}}
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 256 * 1024); } events SEC(".maps");
SEC("perf_event")
int profile(void *ctx) {
  struct stacktrace_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
  if (!event) return 1;
  event->pid = bpf_get_current_pid_tgid() >> 32;
  if (bpf_get_current_comm(event->comm, sizeof(event->comm))) event->comm[0] = 0;
  event->kstack_sz = bpf_get_stack(ctx, event->kstack, sizeof(event->kstack), 0);
  event->ustack_sz = bpf_get_stack(ctx, event->ustack, sizeof(event->ustack), BPF_F_USER_STACK);
  bpf_ringbuf_submit(event, 0);
  return 0;
}
SEC("iter/task")
int tasks(void *ctx) {
  struct task_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  long n = bpf_get_task_stack(ctx, &e->frames[0], sizeof(e->frames), 0);
  e->n = n;
  bpf_get_stack(ctx, &e->build, sizeof(e->build), BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
  bpf_ringbuf_submit(e, 0);
  return 0;
}
)");
  EXPECT_EQ(docs.stack_fields, package::Json::parse(R"({
    "struct stacktrace_event": {
      "kstack": {"kind": "addresses", "user": false, "size_field": "kstack_sz"},
      "ustack": {"kind": "addresses", "user": true, "size_field": "ustack_sz"}
    },
    "struct task_event": {
      "build": {"kind": "addresses", "user": true, "build_id": true},
      "frames": {"kind": "addresses", "user": false, "size_field": "n"}
    }})")) << docs.stack_fields.dump(2);
  // The reference's marker stays on the map, for whoever reads it.
  EXPECT_EQ(docs.variables["events"]["intepreter"], package::Json::parse(R"({"stack_trace": {}})"));
}

TEST_F(StackFields, NoStacksNoKeyAndWhatIsNotUnderstoodOnlyWarns) {
  EXPECT_TRUE(extract(R"(
struct event { __u32 pid; char comm[16]; };
SEC("tp/x/y")
int prog(void *ctx) { struct event e = {}; bpf_get_current_comm(e.comm, sizeof(e.comm)); return e.pid; }
)").stack_fields.empty());
  SourceDocs docs = extract(R"(
struct event { char bytes[64]; int id; };
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(key_size, 4); __uint(value_size, 1016); } stackmap SEC(".maps");
static int id_of(void *ctx, void *map) { return bpf_get_stackid(ctx, map, 0); }
static void fill(void *ctx, struct event *e, void *map) { e->id = bpf_get_stackid(ctx, map, 0); }
SEC("perf_event")
int prog(void *ctx) {
  struct event e = {};
  __u64 scratch[8];
  bpf_get_stack(ctx, e.bytes, sizeof(e.bytes), 0);  // not an array of __u64
  bpf_get_stack(ctx, scratch, sizeof(scratch), 0);  // not a field: nothing to say
  fill(ctx, &e, &stackmap);                         // the map is a parameter there
  return id_of(ctx, &stackmap);
}
)");
  EXPECT_TRUE(docs.stack_fields.empty()) << docs.stack_fields.dump();
  ASSERT_EQ(docs.warnings.size(), 2u);
  EXPECT_NE(docs.warnings[0].find("field 'id'"), std::string::npos) << docs.warnings[0];  // in fill()
  EXPECT_NE(docs.warnings[1].find("field 'bytes'"), std::string::npos) << docs.warnings[1];
}

// The real ecc: a libbpf-tools profile-like source gets meta.stack_fields and
// its programs' @perf.
TEST(EccStacks, ProfilePackageCarriesStackFields) {
  fs::path dir = fs::temp_directory_path() / ("ecli-stacks-ecc-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "profile.bpf.c") << R"(#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
struct key_t { __u32 pid; int user_stack_id; int kern_stack_id; };
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __type(key, __u32); } stackmap SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, struct key_t); __type(value, __u64); } counts SEC(".maps");
/// @perf {"event": "cpu-clock", "frequency": 99}
SEC("perf_event")
int do_perf_event(struct bpf_perf_event_data *ctx) {
  struct key_t key = {.pid = bpf_get_current_pid_tgid() >> 32};
  __u64 one = 1;
  key.kern_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, 0);
  key.user_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, BPF_F_USER_STACK);
  bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
  return 0;
}
char LICENSE[] SEC("license") = "GPL";
)";
  std::string command = std::string(ECC_BIN) + " -q " + (dir / "profile.bpf.c").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  package::Json meta = package::Json::parse(read_file(dir / "package.json"))["meta"];
  fs::remove_all(dir);
  EXPECT_EQ(meta["stack_fields"], package::Json::parse(R"({"struct key_t": {
      "kern_stack_id": {"kind": "id", "map": "stackmap", "user": false},
      "user_stack_id": {"kind": "id", "map": "stackmap", "user": true}}})"));
  EXPECT_EQ(meta["bpf_skel"]["progs"][0]["perf"]["frequency"], 99);
}

}  // namespace
}  // namespace ecli::compiler
