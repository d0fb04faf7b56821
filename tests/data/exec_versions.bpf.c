// Test program in the libbpf-tools style: tp_btf, raw_tp and tracepoint
// versions of sched_process_exec. Each exec must be printed once.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct event {
    pid_t pid;
    char how[16];
    char comm[16];
};

const volatile pid_t targ_ppid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} events SEC(".maps");

static __always_inline int emit(void *ctx, const char *how)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct event e = {};

    if (targ_ppid && BPF_CORE_READ(task, real_parent, tgid) != targ_ppid)
        return 0;
    e.pid = bpf_get_current_pid_tgid() >> 32;
    __builtin_memcpy(e.how, how, sizeof(e.how));
    bpf_get_current_comm(e.comm, sizeof(e.comm));
    bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
#ifdef REJECT_TP_BTF
    /* Reads past the tracepoint's three arguments: the verifier refuses it. */
    if (((volatile u64 *)ctx)[7] == 42)
        return 0;
#endif
    return emit(ctx, "tp_btf");
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    return emit(ctx, "raw_tp");
}

SEC("tp/sched/sched_process_exec")
int exec_tp(struct trace_event_raw_sched_process_exec *ctx)
{
    return emit(ctx, "tracepoint");
}

char LICENSE[] SEC("license") = "GPL";
