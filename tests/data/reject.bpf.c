// Test program the verifier must refuse: it dereferences a scalar.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp/syscalls/sys_enter_getppid")
int bad(void *ctx)
{
    int *p = (int *)(long)bpf_get_current_pid_tgid();
    return *p;
}
