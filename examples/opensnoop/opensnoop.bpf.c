// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2019 Facebook
// Copyright (c) 2020 Netflix
/* libbpf-tools' opensnoop as a single file: open/openat entry stores the
 * arguments per thread, the exit sends a typed event through a ring buffer.
 * No header and no user-space code: ecli finds `struct event` by itself. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16
#define NAME_MAX 255

struct args_t {
    const char *fname;
    int flags;
};

struct event {
    __u64 ts;
    pid_t pid;
    pid_t tid;
    uid_t uid;
    int ret;
    int flags;
    char comm[TASK_COMM_LEN];
    char fname[NAME_MAX];
};

/// Only trace this process (0: every process)
const volatile pid_t pid_target = 0;
/// Only trace this thread (0: every thread)
const volatile pid_t tid_target = 0;
/// Only trace this user (-1: every user)
const volatile uid_t uid_target = -1;
/// Only show failed opens
const volatile bool failed = false;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, u32);
    __type(value, struct args_t);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

static bool trace_allowed(u32 tgid, u32 pid)
{
    if (pid_target && pid_target != tgid)
        return false;
    if (tid_target && tid_target != pid)
        return false;
    if (uid_target != (uid_t)-1 && uid_target != (u32)bpf_get_current_uid_gid())
        return false;
    return true;
}

static int trace_enter(const char *fname, int flags)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32, pid = id;
    struct args_t args = {.fname = fname, .flags = flags};

    if (!trace_allowed(tgid, pid))
        return 0;
    bpf_map_update_elem(&start, &pid, &args, 0);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
    return trace_enter((const char *)ctx->args[0], (int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
    return trace_enter((const char *)ctx->args[1], (int)ctx->args[2]);
}

static int trace_exit(struct trace_event_raw_sys_exit *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 pid = id;
    struct args_t *ap;
    struct event *e;
    int ret = ctx->ret;

    ap = bpf_map_lookup_elem(&start, &pid);
    if (!ap)
        return 0;
    if (failed && ret >= 0)
        goto cleanup;

    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        goto cleanup;
    e->ts = bpf_ktime_get_ns();
    e->pid = id >> 32;
    e->tid = pid;
    e->uid = bpf_get_current_uid_gid();
    e->ret = ret;
    e->flags = ap->flags;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    bpf_probe_read_user_str(&e->fname, sizeof(e->fname), ap->fname);
    bpf_ringbuf_submit(e, 0);
cleanup:
    bpf_map_delete_elem(&start, &pid);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int tracepoint__syscalls__sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
    return trace_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
    return trace_exit(ctx);
}

/// @brief Trace open() and openat(): who opened which file, and the result
char LICENSE[] SEC("license") = "GPL";
