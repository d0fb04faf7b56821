// Test program in the libbpf-tools style: maps that user space sizes. The
// stack trace map has no value_size, the hash map max_entries 0 (set from
// pid_max by a hand-written loader), the ring buffer no size.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct event {
    pid_t pid;
    int kstack_id;
    __u64 calls;
};

const volatile pid_t targ_pid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(key_size, sizeof(u32));
} stackmap SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, u32);
    __type(value, u64);
} calls SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    u64 one = 1, *n;
    struct event *e;

    if (targ_pid && pid != targ_pid)
        return 0;
    n = bpf_map_lookup_elem(&calls, &pid);
    if (n)
        __sync_fetch_and_add(n, 1);
    else
        bpf_map_update_elem(&calls, &pid, &one, BPF_ANY);
    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = pid;
    e->kstack_id = bpf_get_stackid(ctx, &stackmap, 0);
    n = bpf_map_lookup_elem(&calls, &pid);
    e->calls = n ? *n : 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
