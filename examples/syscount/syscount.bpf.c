// SPDX-License-Identifier: GPL-2.0
/* A syscount-style table: system calls counted per process every second,
 * busiest first, top 10 (`--sort`, `--top` change that). The table comes from
 * the `@sample` annotation; there is no user-space code. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16

struct process {
    pid_t pid;
};

struct counts {
    __u64 syscalls;
    __u64 failed;
    char comm[TASK_COMM_LEN];
};

/// Only count this process (0: every process)
const volatile pid_t filter_pid = 0;

/// @sample {"interval": 1000, "type": "default_kv", "sort_by": "syscalls", "limit": 10, "clear_map": true}
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, struct process);
    __type(value, struct counts);
} syscalls SEC(".maps");

static const struct counts zero;

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
    struct process key = {.pid = bpf_get_current_pid_tgid() >> 32};
    struct counts *c;

    if (filter_pid && key.pid != filter_pid)
        return 0;
    c = bpf_map_lookup_elem(&syscalls, &key);
    if (!c) {
        bpf_map_update_elem(&syscalls, &key, &zero, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&syscalls, &key);
        if (!c)
            return 0;
    }
    /* The name of the latest call: a child's first calls come before its exec. */
    bpf_get_current_comm(c->comm, sizeof(c->comm));
    __sync_fetch_and_add(&c->syscalls, 1);
    if (ctx->ret < 0)
        __sync_fetch_and_add(&c->failed, 1);
    return 0;
}

/// @brief Count system calls per process, busiest first
char LICENSE[] SEC("license") = "GPL";
