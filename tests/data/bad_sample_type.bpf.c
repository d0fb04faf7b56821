// Test program: an @sample ecc must refuse (type).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct val {
    __u64 count;
};

/// @sample {"type": "pie"}
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, u32);
    __type(value, struct val);
} counts SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count(void *ctx)
{
    u32 k = 0;
    struct val *v = bpf_map_lookup_elem(&counts, &k);

    if (v)
        v->count++;
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
