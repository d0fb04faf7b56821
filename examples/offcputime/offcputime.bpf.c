// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2021 Wenbo Zhang
/* libbpf-tools' offcputime as a kernel half alone, with no annotations: the
 * time each thread spends blocked (off the CPU), by the user and kernel stack
 * it blocked in.
 *
 * At every context switch the thread leaving the CPU records when it left
 * and where (its stacks, as ids into `stackmap`); when it comes back, the
 * time it was away is added to `info` under that key. `start` is state
 * between the two and is deleted from; `info` is the result, printed by ecli
 * at exit with the stacks symbolized, or folded (--folded) and drawn
 * (--flamegraph FILE.svg). Two versions of the hook: tp_btf, and raw_tp where
 * BTF-enabled tracepoints are not available; ecli runs the best one. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define PF_KTHREAD 0x00200000
#define MAX_ENTRIES 10240
#define TASK_COMM_LEN 16

struct key_t {
    __u32 pid;
    __u32 tgid;
    int user_stack_id;
    int kern_stack_id;
};

struct val_t {
    __u64 delta;
    char comm[TASK_COMM_LEN];
};

const volatile bool kernel_threads_only = false;
const volatile bool user_threads_only = false;
const volatile __u64 max_block_ns = -1;
const volatile __u64 min_block_ns = 1;
const volatile pid_t targ_tgid = -1;
const volatile pid_t targ_pid = -1;
const volatile long state = -1;

struct internal_key {
    __u64 start_ts;
    struct key_t key;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, struct internal_key);
    __uint(max_entries, MAX_ENTRIES);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(key_size, sizeof(__u32));
} stackmap SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct key_t);
    __type(value, struct val_t);
    __uint(max_entries, MAX_ENTRIES);
} info SEC(".maps");

static bool allow_record(struct task_struct *t)
{
    if (targ_tgid != -1 && targ_tgid != BPF_CORE_READ(t, tgid))
        return false;
    if (targ_pid != -1 && targ_pid != BPF_CORE_READ(t, pid))
        return false;
    if (user_threads_only && BPF_CORE_READ(t, flags) & PF_KTHREAD)
        return false;
    else if (kernel_threads_only && !(BPF_CORE_READ(t, flags) & PF_KTHREAD))
        return false;
    if (state != -1 && BPF_CORE_READ(t, __state) != state)
        return false;
    return true;
}

static int handle_sched_switch(void *ctx, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    struct internal_key *i_keyp, i_key;
    struct val_t *valp, val;
    __s64 delta;
    __u32 pid;

    if (allow_record(prev)) {
        pid = BPF_CORE_READ(prev, pid);
        /* To distinguish idle threads of different cores */
        if (!pid)
            pid = bpf_get_smp_processor_id();
        i_key.key.pid = pid;
        i_key.key.tgid = BPF_CORE_READ(prev, tgid);
        i_key.start_ts = bpf_ktime_get_ns();

        if (BPF_CORE_READ(prev, flags) & PF_KTHREAD)
            i_key.key.user_stack_id = -1;
        else
            i_key.key.user_stack_id = bpf_get_stackid(ctx, &stackmap, BPF_F_USER_STACK);
        i_key.key.kern_stack_id = bpf_get_stackid(ctx, &stackmap, 0);
        bpf_map_update_elem(&start, &pid, &i_key, 0);
        BPF_CORE_READ_STR_INTO(&val.comm, prev, comm);
        val.delta = 0;
        bpf_map_update_elem(&info, &i_key.key, &val, BPF_NOEXIST);
    }

    pid = BPF_CORE_READ(next, pid);
    i_keyp = bpf_map_lookup_elem(&start, &pid);
    if (!i_keyp)
        return 0;
    delta = (__s64)(bpf_ktime_get_ns() - i_keyp->start_ts);
    if (delta < 0)
        goto cleanup;
    if (delta < min_block_ns || delta > max_block_ns)
        goto cleanup;
    delta /= 1000U;
    valp = bpf_map_lookup_elem(&info, &i_keyp->key);
    if (!valp)
        goto cleanup;
    __sync_fetch_and_add(&valp->delta, delta);

cleanup:
    bpf_map_delete_elem(&start, &pid);
    return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    return handle_sched_switch(ctx, preempt, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
    return handle_sched_switch(ctx, preempt, prev, next);
}

char LICENSE[] SEC("license") = "GPL";
