// A CPU profile whose user stacks are collected as build-ids and file offsets
// (a stack trace map with BPF_F_STACK_BUILD_ID), as tools do that symbolize
// after the process is gone or on another machine. No annotations; the map's
// value_size is left to ecli (127 frames of struct bpf_stack_build_id).
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct key_t {
    __u32 pid;
    int user_stack_id;
    char comm[16];
};

const volatile pid_t targ_pid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(map_flags, BPF_F_STACK_BUILD_ID);
    __uint(key_size, sizeof(__u32));
} build_id_stacks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct key_t);
    __type(value, __u64);
    __uint(max_entries, 4096);
} samples SEC(".maps");

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
    struct key_t key = {};
    __u64 one = 1, *count;
    __u32 pid = bpf_get_current_pid_tgid() >> 32;

    if (!pid || (targ_pid && pid != targ_pid))
        return 0;
    key.pid = pid;
    key.user_stack_id = bpf_get_stackid(ctx, &build_id_stacks, BPF_F_USER_STACK);
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    count = bpf_map_lookup_elem(&samples, &key);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&samples, &key, &one, BPF_NOEXIST);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
