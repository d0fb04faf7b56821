// Test program in the style of libbpf-tools that writes user memory with
// bpf_probe_write_user: the kernel withholds that helper under lockdown
// ("integrity" and "confidentiality").
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp/syscalls/sys_enter_getppid")
int overwrite(void *ctx)
{
    char zero = 0;
    bpf_probe_write_user((void *)0x1000, &zero, sizeof zero);
    return 0;
}
