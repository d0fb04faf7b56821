// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libbpf-tools' statsnoop as one file: the stat family of system calls (stat,
 * lstat, fstatat, statx, statfs), which process asked about which path, and
 * the result. The seed's attempts attached to a kprobe on "sys_stat" (no such
 * function) and read the path at exit from a context that has no arguments. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16
#define PATH_LEN 200

enum stat_call { STAT, LSTAT, FSTATAT, STATX, STATFS };

struct event {
    pid_t pid;
    int ret;
    enum stat_call call;
    char comm[TASK_COMM_LEN];
    char pathname[PATH_LEN];
};

struct entry {
    const char *pathname;
    enum stat_call call;
};

/// Only trace this process (0: every process)
const volatile pid_t target_pid = 0;
/// Only show failed calls
const volatile bool trace_failed_only = false;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, struct entry);
} values SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1024 * 1024);
} events SEC(".maps");

static int probe_entry(const char *pathname, enum stat_call call)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 pid = id >> 32, tid = (__u32)id;
    struct entry entry = {.pathname = pathname, .call = call};

    if (target_pid && target_pid != pid)
        return 0;
    bpf_map_update_elem(&values, &tid, &entry, BPF_ANY);
    return 0;
}

static int probe_return(int ret)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    struct entry *entry = bpf_map_lookup_elem(&values, &tid);
    struct event *event;

    if (!entry)
        return 0;
    if (trace_failed_only && ret >= 0)
        goto cleanup;
    event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
    if (!event)
        goto cleanup;
    event->pid = id >> 32;
    event->ret = ret;
    event->call = entry->call;
    bpf_get_current_comm(&event->comm, sizeof(event->comm));
    bpf_probe_read_user_str(event->pathname, sizeof(event->pathname), entry->pathname);
    bpf_ringbuf_submit(event, 0);
cleanup:
    bpf_map_delete_elem(&values, &tid);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_newstat")
int handle_stat_entry(struct trace_event_raw_sys_enter *ctx) { return probe_entry((const char *)ctx->args[0], STAT); }
SEC("tracepoint/syscalls/sys_exit_newstat")
int handle_stat_return(struct trace_event_raw_sys_exit *ctx) { return probe_return(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_newlstat")
int handle_lstat_entry(struct trace_event_raw_sys_enter *ctx) { return probe_entry((const char *)ctx->args[0], LSTAT); }
SEC("tracepoint/syscalls/sys_exit_newlstat")
int handle_lstat_return(struct trace_event_raw_sys_exit *ctx) { return probe_return(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_newfstatat")
int handle_fstatat_entry(struct trace_event_raw_sys_enter *ctx) { return probe_entry((const char *)ctx->args[1], FSTATAT); }
SEC("tracepoint/syscalls/sys_exit_newfstatat")
int handle_fstatat_return(struct trace_event_raw_sys_exit *ctx) { return probe_return(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_statx")
int handle_statx_entry(struct trace_event_raw_sys_enter *ctx) { return probe_entry((const char *)ctx->args[1], STATX); }
SEC("tracepoint/syscalls/sys_exit_statx")
int handle_statx_return(struct trace_event_raw_sys_exit *ctx) { return probe_return(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_statfs")
int handle_statfs_entry(struct trace_event_raw_sys_enter *ctx) { return probe_entry((const char *)ctx->args[0], STATFS); }
SEC("tracepoint/syscalls/sys_exit_statfs")
int handle_statfs_return(struct trace_event_raw_sys_exit *ctx) { return probe_return(ctx->ret); }

/// @brief Trace stat-family calls: which path, which call, and the result
char LICENSE[] SEC("license") = "GPL";
