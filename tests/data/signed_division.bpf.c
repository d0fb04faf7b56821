// Test program: signed division and remainder, BPF v4 instructions (clang 18
// or newer with -mcpu=v4, kernel 6.6 or newer). The operands are options so
// that clang cannot fold them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile int pid_target = 0;
const volatile long dividend = -7;
const volatile long divisor = 2;

SEC("tp/syscalls/sys_enter_getppid")
int divide(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != pid_target)
		return 0;
	bpf_printk("quotient %ld remainder %ld", dividend / divisor, dividend % divisor);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
