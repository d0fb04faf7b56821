// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2022 LG Electronics
/* libbpf-tools' profile as a kernel half alone, with no annotations: a CPU
 * profile. A perf_event program runs on every CPU at a fixed rate (ecli opens
 * the sampling events: -F HZ, default 49, software cpu-clock) and counts the
 * samples by process and by the user and kernel stacks that were running.
 *
 * `counts` is the result: ecli prints it at exit with the stacks symbolized,
 * heaviest first, or folded (--folded) for flamegraph.pl and speedscope, or
 * as an SVG flame graph (--flamegraph FILE.svg). `targ_tgid` limits it to one
 * process (set by -p PID, or by -c COMMAND for the command ecli starts). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_ENTRIES 10240
#define TASK_COMM_LEN 16

struct key_t {
    __u32 pid;
    int user_stack_id;
    int kern_stack_id;
    char name[TASK_COMM_LEN];
};

const volatile bool kernel_stacks_only = false;
const volatile bool user_stacks_only = false;
const volatile bool include_idle = false;
const volatile pid_t targ_tgid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __type(key, __u32);
} stackmap SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct key_t);
    __type(value, __u64);
    __uint(max_entries, MAX_ENTRIES);
} counts SEC(".maps");

static __always_inline void *bpf_map_lookup_or_try_init(void *map, const void *key, const void *init)
{
    void *val;
    long err;

    val = bpf_map_lookup_elem(map, key);
    if (val)
        return val;
    err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
    if (err && err != -17 /* EEXIST */)
        return 0;
    return bpf_map_lookup_elem(map, key);
}

SEC("perf_event")
int do_perf_event(struct bpf_perf_event_data *ctx)
{
    static const __u64 zero;
    struct key_t key = {};
    __u64 *valp;
    __u64 id;
    __u32 pid, tid;

    id = bpf_get_current_pid_tgid();
    pid = id >> 32;
    tid = id;

    if (!include_idle && tid == 0)
        return 0;
    if (targ_tgid && pid != targ_tgid)
        return 0;

    key.pid = pid;
    bpf_get_current_comm(&key.name, sizeof(key.name));

    if (user_stacks_only)
        key.kern_stack_id = -1;
    else
        key.kern_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, 0);

    if (kernel_stacks_only)
        key.user_stack_id = -1;
    else
        key.user_stack_id = bpf_get_stackid(&ctx->regs, &stackmap, BPF_F_USER_STACK);

    valp = bpf_map_lookup_or_try_init(&counts, &key, &zero);
    if (valp)
        __sync_fetch_and_add(valp, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
