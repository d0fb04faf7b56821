// Test program: a kfunc that only vmlinux.h declares (bpftool 7.4+ writes the
// kernel's kfunc prototypes), checked with bpf_ksym_exists as libbpf-style
// tools do.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile int pid_target = 0;

SEC("tp/syscalls/sys_enter_getppid")
int lookup(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;

	if (pid != pid_target)
		return 0;
	if (!bpf_ksym_exists(bpf_task_from_pid)) {
		bpf_printk("no bpf_task_from_pid on this kernel");
		return 0;
	}
	task = bpf_task_from_pid(pid);
	if (!task)
		return 0;
	bpf_printk("task %d found by bpf_task_from_pid", task->tgid);
	bpf_task_release(task);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
