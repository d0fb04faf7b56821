// Test program: two sampled maps on different intervals, counting getppid().
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

const volatile pid_t target = 0;

/// @sample {"interval": 300, "type": "default_kv"}
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} fast SEC(".maps");

/// @sample {"interval": 1000, "type": "default_kv"}
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} slow SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count(void *ctx)
{
    u32 zero = 0;
    u64 *a = bpf_map_lookup_elem(&fast, &zero), *b = bpf_map_lookup_elem(&slow, &zero);

    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    if (a)
        __sync_fetch_and_add(a, 1);
    if (b)
        __sync_fetch_and_add(b, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
