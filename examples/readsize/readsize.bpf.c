// SPDX-License-Identifier: GPL-2.0
/* The sizes asked of read(2), as a linear histogram per process every second:
 * buckets of 512 bytes from 0 to 8192 (the last bucket also counts anything
 * larger). From the `@sample` annotation; no user-space code. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define BUCKET_MIN 0
#define BUCKET_STEP 512
#define BUCKETS 16
#define TASK_COMM_LEN 16

struct sizes {
    __u64 slots[BUCKETS];
    char comm[TASK_COMM_LEN];
};

/// Only count this process (0: every process)
const volatile pid_t filter_pid = 0;

/// @sample {"interval": 1000, "type": "linear_hist", "min": 0, "max": 8192, "step": 512, "unit": "bytes", "clear_map": true}
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, pid_t);
    __type(value, struct sizes);
} reads SEC(".maps");

static const struct sizes zero;

SEC("tracepoint/syscalls/sys_enter_read")
int sys_enter_read(struct trace_event_raw_sys_enter *ctx)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    __u64 size = ctx->args[2];
    __u64 bucket = (size - BUCKET_MIN) / BUCKET_STEP;
    struct sizes *s;

    if (filter_pid && pid != filter_pid)
        return 0;
    s = bpf_map_lookup_elem(&reads, &pid);
    if (!s) {
        bpf_map_update_elem(&reads, &pid, &zero, BPF_NOEXIST);
        s = bpf_map_lookup_elem(&reads, &pid);
        if (!s)
            return 0;
        bpf_get_current_comm(s->comm, sizeof(s->comm));
    }
    if (bucket >= BUCKETS)
        bucket = BUCKETS - 1;
    __sync_fetch_and_add(&s->slots[bucket], 1);
    return 0;
}

/// @brief Histogram of read(2) sizes per process
char LICENSE[] SEC("license") = "GPL";
