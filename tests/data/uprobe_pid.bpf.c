// SPDX-License-Identifier: GPL-2.0
/* Calls of a libc function, counted per process; user space names the
 * library and may limit the probe to one process. A syscall tracepoint
 * beside it filters through targ_tgid, as libbpf-tools do. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile pid_t targ_tgid = 0;
const volatile pid_t targ_pid = 0;

enum probe_kind {
	GETLOADAVG_UPROBE,
	GETPPID_SYSCALL,
};

struct call_event {
	__u32 pid;
	enum probe_kind probe;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static void send(enum probe_kind probe)
{
	struct call_event *event;

	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event)
		return;
	event->pid = bpf_get_current_pid_tgid() >> 32;
	event->probe = probe;
	bpf_ringbuf_submit(event, 0);
}

SEC("uprobe/getloadavg")
int BPF_UPROBE(getloadavg_entry)
{
	send(GETLOADAVG_UPROBE);
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int getppid_entry(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (targ_tgid && targ_tgid != (id >> 32))
		return 0;
	if (targ_pid && targ_pid != (__u32)id)
		return 0;
	send(GETPPID_SYSCALL);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
