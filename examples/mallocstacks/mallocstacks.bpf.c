// SPDX-License-Identifier: GPL-2.0
/* Outstanding allocations by user stack, in the manner of BCC's memleak: a
 * kernel half alone, with no annotations. uprobes on libc's malloc and free
 * (libc.so.6 is found where the dynamic linker finds it; -p PID or -c COMMAND
 * limit them to one process) record each allocation with the stack that made
 * it; free takes it back.
 *
 * `sizes` (thread -> size and stack being allocated) and `allocs` (address ->
 * allocation) are deleted from: state. `outstanding` (process, stack -> bytes
 * and allocations not yet freed) is the result: printed by ecli at exit with
 * the stacks symbolized, largest first; stacks whose allocations were all
 * freed print nothing. --folded and --flamegraph FILE.svg count bytes. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_ENTRIES 65536
#define TASK_COMM_LEN 16

struct alloc_key {
    __u32 pid;
    int user_stack_id;
    char comm[TASK_COMM_LEN];
};

struct alloc_info {
    __u64 size;
    struct alloc_key key;
};

struct outstanding_val {
    __u64 bytes;
    __u64 allocations;
};

const volatile pid_t targ_tgid = 0;
const volatile __u64 min_size = 0;

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __type(key, __u32);
} stack_traces SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, struct alloc_info);
    __uint(max_entries, 10240);
} sizes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u64);
    __type(value, struct alloc_info);
    __uint(max_entries, MAX_ENTRIES);
} allocs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct alloc_key);
    __type(value, struct outstanding_val);
    __uint(max_entries, 10240);
} outstanding SEC(".maps");

SEC("uprobe/libc.so.6:malloc")
int BPF_UPROBE(malloc_enter, size_t size)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = id;
    struct alloc_info info = {};

    if (targ_tgid && (id >> 32) != targ_tgid)
        return 0;
    if (size < min_size)
        return 0;
    info.size = size;
    info.key.pid = id >> 32;
    bpf_get_current_comm(&info.key.comm, sizeof(info.key.comm));
    bpf_map_update_elem(&sizes, &tid, &info, BPF_ANY);
    return 0;
}

SEC("uretprobe/libc.so.6:malloc")
int BPF_URETPROBE(malloc_exit, void *address)
{
    __u32 tid = bpf_get_current_pid_tgid();
    struct outstanding_val zero = {}, *val;
    struct alloc_info *info;
    __u64 addr = (__u64)address;

    info = bpf_map_lookup_elem(&sizes, &tid);
    if (!info)
        return 0;
    /* The stack is taken on the way out: at malloc's entry the frame-pointer
     * walk would skip its caller (libc has no frame pointers of its own). */
    info->key.user_stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
    if (addr) {
        bpf_map_update_elem(&allocs, &addr, info, BPF_ANY);
        bpf_map_update_elem(&outstanding, &info->key, &zero, BPF_NOEXIST);
        val = bpf_map_lookup_elem(&outstanding, &info->key);
        if (val) {
            __sync_fetch_and_add(&val->bytes, info->size);
            __sync_fetch_and_add(&val->allocations, 1);
        }
    }
    bpf_map_delete_elem(&sizes, &tid);
    return 0;
}

SEC("uprobe/libc.so.6:free")
int BPF_UPROBE(free_enter, void *address)
{
    __u64 addr = (__u64)address;
    struct outstanding_val *val;
    struct alloc_info *info;

    info = bpf_map_lookup_elem(&allocs, &addr);
    if (!info)
        return 0;
    val = bpf_map_lookup_elem(&outstanding, &info->key);
    if (val) {
        __sync_fetch_and_add(&val->bytes, -info->size);
        __sync_fetch_and_add(&val->allocations, -1);
    }
    bpf_map_delete_elem(&allocs, &addr);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
