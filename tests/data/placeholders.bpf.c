// Test program in the libbpf-tools style: a working tracepoint next to
// programs that user space would retarget or switch off (a placeholder
// fentry/dummy_*, a kprobe without a function, a tracepoint this kernel
// lacks). ecli switches those off and runs the rest. The raw_tp version of
// the getppid hook loads but cannot attach (per-syscall tracepoints are not
// raw tracepoints): the tracepoint version takes its place.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct event {
    pid_t pid;
    char comm[16];
};

const volatile pid_t targ_pid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} events SEC(".maps");

static __always_inline int emit(void)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    struct event *e;

    if (targ_pid && pid != targ_pid)
        return 0;
    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = pid;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("raw_tp/sys_enter_getppid")
int getppid_raw(void *ctx)
{
    return emit();
}

SEC("tp/syscalls/sys_enter_getppid")
int getppid_entry(void *ctx)
{
    return emit();
}

SEC("fentry/dummy_fentry")
int BPF_PROG(dummy_fentry)
{
    return 0;
}

SEC("kprobe")
int BPF_KPROBE(retargeted_kprobe)
{
    return 0;
}

SEC("tp/no_such_category/no_such_event")
int missing_tracepoint(void *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
