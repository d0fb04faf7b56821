// Test program with a compile error.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_getppid")
int broken(void *ctx)
{
    return undeclared_identifier;
}
