// Test program for readable values: connect() and openat() of one process, each
// reported at syscall exit with its return value. Nothing says how values print
// but one `@format`: the address and port are read from their C types.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct event {
    __u32 pid;
    __u16 af;
    __be16 dport;
    __be32 daddr;
    int flags;
    /// @format errno
    int ret;
    char comm[16];
};

/// Process to report
const volatile pid_t target = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct event);
} pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} events SEC(".maps");

static __always_inline int enter(struct event *e)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    e->pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_map_update_elem(&pending, &tid, e, BPF_ANY);
    return 0;
}

static __always_inline int leave(long ret)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct event *e = bpf_map_lookup_elem(&pending, &tid), *out;
    if (!e)
        return 0;
    out = bpf_ringbuf_reserve(&events, sizeof(*out), 0);
    if (out) {
        __builtin_memcpy(out, e, sizeof(*out));
        out->ret = ret;
        bpf_ringbuf_submit(out, 0);
    }
    bpf_map_delete_elem(&pending, &tid);
    return 0;
}

SEC("tp/syscalls/sys_enter_connect")
int connect_enter(struct trace_event_raw_sys_enter *ctx)
{
    struct event e = {};
    struct sockaddr_in sin = {};
    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    bpf_probe_read_user(&sin, sizeof(sin), (void *)ctx->args[1]);
    e.af = sin.sin_family;
    e.dport = sin.sin_port;
    e.daddr = sin.sin_addr.s_addr;
    return enter(&e);
}

SEC("tp/syscalls/sys_exit_connect")
int connect_exit(struct trace_event_raw_sys_exit *ctx)
{
    return leave(ctx->ret);
}

SEC("tp/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
    struct event e = {};
    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    e.flags = (int)ctx->args[2];
    return enter(&e);
}

SEC("tp/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
    return leave(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";
