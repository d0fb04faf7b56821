// Test program: three event maps of three types, all fed on getppid(), for
// eunomia's multiple-export format (export_config per map) and 16-byte integers.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct wide_event {
    pid_t pid;
    unsigned __int128 big;
    __int128 negative;
    unsigned __int128 zero;
    char comm[16];
};

struct pair_event {
    __u64 seq;
    short delta;
    __u32 pid;
};

struct quiet_event {
    pid_t pid;
    __u32 noise;
};

/// Process to report
const volatile pid_t target = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} wide_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} pair_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} quiet_events SEC(".maps");

__u64 seq = 0;

SEC("tp/syscalls/sys_enter_getppid")
int all_three(void *ctx)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    struct pair_event pair = {};
    struct quiet_event *quiet;
    struct wide_event *wide;

    if (pid != target)
        return 0;
    wide = bpf_ringbuf_reserve(&wide_events, sizeof(*wide), 0);
    if (wide) {
        wide->pid = pid;
        wide->big = ((unsigned __int128)0x0123456789abcdefULL << 64) | 0xfedcba9876543210ULL;
        wide->negative = -5;
        wide->zero = 0;
        bpf_get_current_comm(wide->comm, sizeof(wide->comm));
        bpf_ringbuf_submit(wide, 0);
    }
    pair.seq = ++seq;
    pair.delta = -3;
    pair.pid = pid;
    bpf_perf_event_output(ctx, &pair_events, BPF_F_CURRENT_CPU, &pair, sizeof(pair));
    quiet = bpf_ringbuf_reserve(&quiet_events, sizeof(*quiet), 0);
    if (quiet) {
        quiet->pid = pid;
        quiet->noise = 0x51e47;
        bpf_ringbuf_submit(quiet, 0);
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
