// Test program: the first getppid() sends 2000 events of 1 KiB through a perf
// buffer, more than its 1 MiB per CPU holds; later calls send one event each
// (the kernel reports a loss when the next event fits).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct big_event {
    __u32 seq;
    char pad[1020];
};

const volatile pid_t target = 0;
__u32 calls;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct big_event);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int flood(void *ctx)
{
    __u32 zero = 0;
    struct big_event *e;

    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    e = bpf_map_lookup_elem(&scratch, &zero);
    if (!e)
        return 0;
    int count = calls++ == 0 ? 2000 : 1;
    for (int i = 0; i < 2000 && i < count; i++) {
        e->seq = i;
        bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
