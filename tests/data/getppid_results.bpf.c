// Test program in the style of libbpf-tools' counters and histograms
// (syscount, runqlat, softirqs): results in hash maps, a per-CPU array and
// .bss arrays, state in a map the programs delete from, no annotations and
// no user space. ecli must print the results at exit and nothing else.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define MAX_SLOTS 26
#define TASK_COMM_LEN 16

enum call_kind {
    KIND_ENTER,
    KIND_EXIT,
    NR_KINDS,
};

struct hist_key {
    char comm[TASK_COMM_LEN];
};

struct hist {
    __u32 slots[MAX_SLOTS];
};

const volatile pid_t targ_tgid = 0;

__u64 calls_by_kind[NR_KINDS] = {};
__u64 total_calls = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, u32);
    __type(value, u64);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, u32);
    __type(value, u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct hist_key);
    __type(value, struct hist);
} hists SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, __u32[MAX_SLOTS]);
} latency_slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} percpu_calls SEC(".maps");

static __always_inline bool traced(void)
{
    return !targ_tgid || (bpf_get_current_pid_tgid() >> 32) == targ_tgid;
}

static __always_inline u32 log2l(u64 v)
{
    u32 r = 0;

    while (v > 1 && r < MAX_SLOTS - 1) {
        v >>= 1;
        r++;
    }
    return r;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int getppid_enter(void *ctx)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    u64 ts = bpf_ktime_get_ns();

    if (!traced())
        return 0;
    bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
    __sync_fetch_and_add(&calls_by_kind[KIND_ENTER], 1);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_getppid")
int getppid_exit(void *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = (u32)id, pid = id >> 32, zero = 0;
    static const struct hist empty;
    struct hist_key key = {};
    struct hist *h;
    u64 *tsp, *n, one = 1;
    u32 *slots, slot;

    if (!traced())
        return 0;
    __sync_fetch_and_add(&calls_by_kind[KIND_EXIT], 1);
    __sync_fetch_and_add(&total_calls, 1);
    n = bpf_map_lookup_elem(&percpu_calls, &zero);
    if (n)
        *n += 1;
    n = bpf_map_lookup_elem(&counts, &pid);
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);

    tsp = bpf_map_lookup_elem(&start, &tid);
    if (!tsp)
        return 0;
    bpf_get_current_comm(key.comm, sizeof(key.comm));
    h = bpf_map_lookup_elem(&hists, &key);
    if (!h) {
        bpf_map_update_elem(&hists, &key, &empty, BPF_NOEXIST);
        h = bpf_map_lookup_elem(&hists, &key);
        if (!h)
            goto cleanup;
    }
    slot = log2l((bpf_ktime_get_ns() - *tsp) / 1000);
    __sync_fetch_and_add(&h->slots[slot], 1);
    slots = bpf_map_lookup_elem(&latency_slots, &zero);
    if (slots)
        __sync_fetch_and_add(&slots[slot], 1);
cleanup:
    bpf_map_delete_elem(&start, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
