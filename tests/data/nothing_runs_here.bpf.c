// Test program: one hook with only fentry and kprobe versions. On a kernel
// with neither trampolines nor kprobes no version can run, and ecli must say
// why for each.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 calls;

SEC("fentry/do_rmdir")
int BPF_PROG(rmdir_fentry)
{
    __sync_fetch_and_add(&calls, 1);
    return 0;
}

SEC("kprobe/do_rmdir")
int BPF_KPROBE(rmdir_kprobe)
{
    __sync_fetch_and_add(&calls, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
