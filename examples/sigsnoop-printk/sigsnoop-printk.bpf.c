// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The seed's sigsnoop, corrected: the entry probe keyed the map with an
 * uninitialised tid (so the exit probe never found the entry), tgkill was
 * missing, and the event type came from a header the seed did not show. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define MAX_ENTRIES 10240
#define TASK_COMM_LEN 16

struct event {
    __u32 pid;
    __u32 tpid;
    int sig;
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

static int probe_exit(void *ctx, int ret)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct event *eventp;

    eventp = bpf_map_lookup_elem(&values, &tid);
    if (!eventp)
        return 0;
    if (failed_only && ret >= 0)
        goto cleanup;

    eventp->ret = ret;
    bpf_printk("PID %d (%s) sent signal %d to PID %d, ret = %d",
               eventp->pid, eventp->comm, eventp->sig, eventp->tpid, eventp->ret);

cleanup:
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
    return probe_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_entry(struct trace_event_raw_sys_enter *ctx)
{
    return probe_entry((pid_t)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
    return probe_exit(ctx, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_entry(struct trace_event_raw_sys_enter *ctx)
{
    return probe_entry((pid_t)ctx->args[1], (int)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
    return probe_exit(ctx, ctx->ret);
}

/// @brief Trace signals sent with kill, tkill and tgkill
char LICENSE[] SEC("license") = "Dual BSD/GPL";
