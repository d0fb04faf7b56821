// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2020 Wenbo Zhang
/* The seed's runqlat: run queue latency as a log2 histogram printed every
 * second with no user-space code, from the `@sample` annotation on `hists`.
 * Corrected from the seed: the globals it used (targ_per_process and the
 * others, MAX_SLOTS, struct hist, log2l, get_task_state) were never defined,
 * and the cgroup filter needed a map nobody filled; it is left out. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define MAX_ENTRIES 10240
#define MAX_SLOTS 26
#define TASK_COMM_LEN 16
#define TASK_RUNNING 0

struct hist {
    __u32 slots[MAX_SLOTS];
    char comm[TASK_COMM_LEN];
};

/// One histogram per process
const volatile bool targ_per_process = false;
/// One histogram per thread
const volatile bool targ_per_thread = false;
/// One histogram per PID namespace
const volatile bool targ_per_pidns = false;
/// Count milliseconds instead of microseconds
const volatile bool targ_ms = false;
/// Only trace this process (0: every process)
const volatile pid_t targ_tgid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, u32);
    __type(value, u64);
} start SEC(".maps");

static struct hist zero;

/// @sample {"interval": 1000, "type": "log2_hist", "unit": "usecs", "clear_map": true}
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, u32);
    __type(value, struct hist);
} hists SEC(".maps");

static __always_inline u64 log2(u32 v)
{
    u32 shift, r;

    r = (v > 0xFFFF) << 4; v >>= r;
    shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
    shift = (v > 0xF) << 2; v >>= shift; r |= shift;
    shift = (v > 0x3) << 1; v >>= shift; r |= shift;
    r |= (v >> 1);
    return r;
}

static __always_inline u64 log2l(u64 v)
{
    u32 hi = v >> 32;

    return hi ? log2(hi) + 32 : log2(v);
}

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
    ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
    return 0;
}

static unsigned int pid_namespace(struct task_struct *task)
{
    struct pid *pid;
    unsigned int level;
    struct upid upid;

    /* get the pid namespace by following task_active_pid_ns(): pid->numbers[pid->level].ns */
    pid = BPF_CORE_READ(task, thread_pid);
    level = BPF_CORE_READ(pid, level);
    bpf_core_read(&upid, sizeof(upid), &pid->numbers[level]);
    return BPF_CORE_READ(upid.ns, ns.inum);
}

static int handle_switch(bool preempt, struct task_struct *prev, struct task_struct *next)
{
    struct hist *histp;
    u64 *tsp, slot;
    u32 pid, hkey;
    s64 delta;

    if (get_task_state(prev) == TASK_RUNNING)
        trace_enqueue(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid));

    pid = BPF_CORE_READ(next, pid);
    tsp = bpf_map_lookup_elem(&start, &pid);
    if (!tsp)
        return 0;
    delta = bpf_ktime_get_ns() - *tsp;
    if (delta < 0)
        goto cleanup;

    if (targ_per_process)
        hkey = BPF_CORE_READ(next, tgid);
    else if (targ_per_thread)
        hkey = pid;
    else if (targ_per_pidns)
        hkey = pid_namespace(next);
    else
        hkey = -1;
    histp = bpf_map_lookup_elem(&hists, &hkey);
    if (!histp) {
        bpf_map_update_elem(&hists, &hkey, &zero, BPF_NOEXIST);
        histp = bpf_map_lookup_elem(&hists, &hkey);
        if (!histp)
            goto cleanup;
    }
    if (!histp->comm[0])
        bpf_probe_read_kernel_str(&histp->comm, sizeof(histp->comm), next->comm);
    if (targ_ms)
        delta /= 1000000U;
    else
        delta /= 1000U;
    slot = log2l(delta);
    if (slot >= MAX_SLOTS)
        slot = MAX_SLOTS - 1;
    __sync_fetch_and_add(&histp->slots[slot], 1);

cleanup:
    bpf_map_delete_elem(&start, &pid);
    return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(handle_sched_wakeup, struct task_struct *p)
{
    return trace_enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new, struct task_struct *p)
{
    return trace_enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
}

SEC("raw_tp/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    return handle_switch(preempt, prev, next);
}

/// @brief Summarize run queue (scheduler) latency as a histogram
/// @details Every second, one histogram of how long tasks waited to run: for
/// the whole system, or per process, thread or PID namespace.
char LICENSE[] SEC("license") = "GPL";
