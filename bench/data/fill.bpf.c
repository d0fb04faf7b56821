// Benchmark program: one getppid() by `target` fills a hash map with
// `entries` keys (bpf_loop), which ecli samples as a table.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct value {
    __u64 count;
    __u64 bytes;
    char comm[16];
};

const volatile pid_t target = 0;
const volatile __u32 entries = 10000;

/// @sample {"interval": 600000, "type": "default_kv"}
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 200000);
    __type(key, __u32);
    __type(value, struct value);
} bench_counts SEC(".maps");

static long fill(__u32 index, void *ctx)
{
    struct value v = {.count = index, .bytes = index * 4096ULL, .comm = "filler"};

    bpf_map_update_elem(&bench_counts, &index, &v, BPF_ANY);
    return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int fill_map(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    bpf_loop(entries, fill, NULL, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
