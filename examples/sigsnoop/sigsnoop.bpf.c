// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sigsnoop with typed events instead of bpf_printk: kill, tkill and tgkill,
 * sender, target, signal (by name) and result, through a ring buffer. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define MAX_ENTRIES 10240
#define TASK_COMM_LEN 16

enum signal_name {
    SIGNAL_0 = 0, SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
    SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
    SIGTERM = 15, SIGSTKFLT = 16, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21,
    SIGTTOU = 22, SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28,
    SIGIO = 29, SIGPWR = 30, SIGSYS = 31,
};

struct event {
    pid_t pid;
    pid_t tpid;
    enum signal_name sig;
    int ret;
    char comm[TASK_COMM_LEN];
};

/// Only report signals sent by this process (0: every process)
const volatile pid_t filter_pid = 0;
/// Only report this signal number (0: every signal)
const volatile int target_signal = 0;
/// Only report signals that failed to be sent
const volatile bool failed_only = false;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, __u32);
    __type(value, struct event);
} values SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

static int probe_entry(pid_t tpid, int sig)
{
    struct event event = {};
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    __u32 pid = pid_tgid >> 32;
    __u32 tid = (__u32)pid_tgid;

    if (filter_pid && pid != filter_pid)
        return 0;
    if (target_signal && sig != target_signal)
        return 0;
    event.pid = pid;
    event.tpid = tpid;
    event.sig = sig;
    bpf_get_current_comm(event.comm, sizeof(event.comm));
    bpf_map_update_elem(&values, &tid, &event, BPF_ANY);
    return 0;
}

static int probe_exit(int ret)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct event *eventp = bpf_map_lookup_elem(&values, &tid);

    if (!eventp)
        return 0;
    if (!failed_only || ret < 0) {
        eventp->ret = ret;
        bpf_ringbuf_output(&events, eventp, sizeof(*eventp), 0);
    }
    bpf_map_delete_elem(&values, &tid);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry(struct trace_event_raw_sys_enter *ctx)
{
    return probe_entry((pid_t)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
    return probe_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_entry(struct trace_event_raw_sys_enter *ctx)
{
    return probe_entry((pid_t)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
    return probe_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_entry(struct trace_event_raw_sys_enter *ctx)
{
    return probe_entry((pid_t)ctx->args[1], (int)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
    return probe_exit(ctx->ret);
}

/// @brief Trace signals sent with kill, tkill and tgkill
char LICENSE[] SEC("license") = "Dual BSD/GPL";
