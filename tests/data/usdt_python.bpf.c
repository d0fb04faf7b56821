// SPDX-License-Identifier: GPL-2.0
/* Python function entries through CPython's USDT probe, in the libbpf-tools
 * style: a bare SEC("usdt"); user space names the binary and the probe
 * (python:function__entry). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

#define NAME_SIZE 64

struct call_event {
	__u32 pid;
	__s32 line;
	char function[NAME_SIZE];
	char file[NAME_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} calls SEC(".maps");

SEC("usdt")
int BPF_USDT(python_entry, const char *file, const char *function, int line)
{
	struct call_event *event;

	event = bpf_ringbuf_reserve(&calls, sizeof(*event), 0);
	if (!event)
		return 0;
	event->pid = bpf_get_current_pid_tgid() >> 32;
	event->line = line;
	bpf_probe_read_user_str(event->function, sizeof(event->function), function);
	bpf_probe_read_user_str(event->file, sizeof(event->file), file);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
