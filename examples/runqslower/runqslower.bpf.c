// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2019 Facebook
/* The seed's runqslower: how long a task waited on the run queue before it
 * ran, for waits longer than --min_us. The seed attached every handler twice
 * (tp_btf and raw_tp versions of each tracepoint, which libbpf-tools chooses
 * between at run time), counting each switch twice, and lacked
 * get_task_state(); this version uses the BTF-typed tracepoints only. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define TASK_COMM_LEN 16
#define TASK_RUNNING 0

struct event {
    char task[TASK_COMM_LEN];
    char prev_task[TASK_COMM_LEN];
    __u64 delta_us;
    pid_t pid;
    pid_t prev_pid;
};

/// Only show waits longer than this many microseconds
const volatile __u64 min_us = 10000;
/// Only trace this thread (0: every thread)
const volatile pid_t targ_pid = 0;
/// Only trace this process (0: every process)
const volatile pid_t targ_tgid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, u32);
    __type(value, u64);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} events SEC(".maps");

/* task_struct::state became __state in Linux 5.14. */
struct task_struct___o {
    volatile long int state;
} __attribute__((preserve_access_index));

static __always_inline long get_task_state(struct task_struct *t)
{
    struct task_struct___o *old = (void *)t;

    if (bpf_core_field_exists(old->state))
        return BPF_CORE_READ(old, state);
    return BPF_CORE_READ(t, __state);
}

static int trace_enqueue(u32 tgid, u32 pid)
{
    u64 ts;

    if (!pid)
        return 0;
    if (targ_tgid && targ_tgid != tgid)
        return 0;
    if (targ_pid && targ_pid != pid)
        return 0;
    ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&start, &pid, &ts, 0);
    return 0;
}

static int handle_switch(void *ctx, struct task_struct *prev, struct task_struct *next)
{
    struct event event = {};
    u64 *tsp, delta_us;
    u32 pid;

    /* Involuntary switch: the previous task is still runnable, so it waits again. */
    if (get_task_state(prev) == TASK_RUNNING)
        trace_enqueue(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid));

    pid = BPF_CORE_READ(next, pid);
    tsp = bpf_map_lookup_elem(&start, &pid);
    if (!tsp)
        return 0;
    delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
    if (min_us && delta_us <= min_us)
        goto cleanup;

    event.pid = pid;
    event.prev_pid = BPF_CORE_READ(prev, pid);
    event.delta_us = delta_us;
    bpf_probe_read_kernel_str(&event.task, sizeof(event.task), next->comm);
    bpf_probe_read_kernel_str(&event.prev_task, sizeof(event.prev_task), prev->comm);
    bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));
cleanup:
    bpf_map_delete_elem(&start, &pid);
    return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
    return trace_enqueue(p->tgid, p->pid);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
    return trace_enqueue(p->tgid, p->pid);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    return handle_switch(ctx, prev, next);
}

/// @brief Trace scheduling delays: tasks that waited on a run queue longer than --min_us
char LICENSE[] SEC("license") = "GPL";
