// The floor for the openat storm: the same four tracepoints and the same
// per-thread map traffic as examples/opensnoop, but the exit only counts in
// the kernel instead of sending an event. What a traced program pays under
// this is what tracing costs before anything is read or printed.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct args_t {
    const char *fname;
    int flags;
};

const volatile pid_t pid_target = 0;
__u64 opens;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, u32);
    __type(value, struct args_t);
} start SEC(".maps");

static int trace_enter(const char *fname, int flags)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 pid = id;
    struct args_t args = {.fname = fname, .flags = flags};

    if (pid_target && pid_target != (id >> 32))
        return 0;
    bpf_map_update_elem(&start, &pid, &args, 0);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int count_enter_open(struct trace_event_raw_sys_enter *ctx)
{
    return trace_enter((const char *)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int count_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
    return trace_enter((const char *)ctx->args[1], (int)ctx->args[2]);
}

static int trace_exit(void)
{
    u32 pid = bpf_get_current_pid_tgid();

    if (!bpf_map_lookup_elem(&start, &pid))
        return 0;
    __sync_fetch_and_add(&opens, 1);
    bpf_map_delete_elem(&start, &pid);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int count_exit_open(void *ctx)
{
    return trace_exit();
}

SEC("tracepoint/syscalls/sys_exit_openat")
int count_exit_openat(void *ctx)
{
    return trace_exit();
}

char LICENSE[] SEC("license") = "GPL";
