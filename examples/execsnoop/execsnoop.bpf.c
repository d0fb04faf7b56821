// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The seed's execsnoop, made correct and given arguments. The entry stores the
 * command line per thread; the exit sends one event with the result through a
 * perf event array. Corrected from the seed: the event was not initialised
 * (garbage in unset fields), `pid` was the thread id, `task->comm` was read by
 * a plain dereference (not allowed in a tracepoint program), the parent pid was
 * never set and the header it included had another name. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define TASK_COMM_LEN 16
#define ARGSIZE 64
#define MAX_ARGS 16
#define ARGS_LEN (MAX_ARGS * ARGSIZE)

struct event {
    pid_t pid;
    pid_t ppid;
    uid_t uid;
    int retval;
    int args_count;
    char comm[TASK_COMM_LEN];
    char args[ARGS_LEN];   /* the command line, arguments separated by spaces */
};

/// Only trace this user (-1: every user)
const volatile uid_t targ_uid = -1;
/// Only show failed exec calls
const volatile bool failed_only = false;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, pid_t);
    __type(value, struct event);
} execs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} events SEC(".maps");

static const struct event empty_event = {};

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    pid_t tid = (pid_t)id;
    uid_t uid = (u32)bpf_get_current_uid_gid();
    const char **argv = (const char **)(ctx->args[1]);
    struct task_struct *task;
    struct event *event;
    const char *argp;
    unsigned int size = 0;

    if (targ_uid != (uid_t)-1 && targ_uid != uid)
        return 0;
    if (bpf_map_update_elem(&execs, &tid, &empty_event, BPF_NOEXIST))
        return 0;
    event = bpf_map_lookup_elem(&execs, &tid);
    if (!event)
        return 0;

    task = (struct task_struct *)bpf_get_current_task();
    event->pid = id >> 32;
    event->ppid = BPF_CORE_READ(task, real_parent, tgid);
    event->uid = uid;

    for (int i = 0; i < MAX_ARGS; i++) {
        long n;

        if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) || !argp)
            break;
        if (size > ARGS_LEN - ARGSIZE)
            break;
        n = bpf_probe_read_user_str(&event->args[size], ARGSIZE, argp);
        if (n <= 0)
            break;
        event->args_count++;
        size += n;
        /* The NUL that ends this argument becomes the separator. */
        if (size - 1 < ARGS_LEN)
            event->args[size - 1] = ' ';
    }
    if (size > 0 && size - 1 < ARGS_LEN)
        event->args[size - 1] = '\0';
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
    pid_t tid = (pid_t)bpf_get_current_pid_tgid();
    struct event *event;
    int ret = ctx->ret;

    event = bpf_map_lookup_elem(&execs, &tid);
    if (!event)
        return 0;
    if (failed_only && ret >= 0)
        goto cleanup;
    event->retval = ret;
    bpf_get_current_comm(&event->comm, sizeof(event->comm));
    bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, event, sizeof(*event));
cleanup:
    bpf_map_delete_elem(&execs, &tid);
    return 0;
}

/// @brief Trace exec() calls: who ran which command line, and the result
char LICENSE[] SEC("license") = "GPL";
