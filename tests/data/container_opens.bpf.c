// SPDX-License-Identifier: GPL-2.0
/* Opens by process, limited to one cgroup the way libbpf-tools do it
 * (--cgroup in their tools): a filter_cg switch and a cgroup array that
 * bpf_current_task_under_cgroup() checks. ecli's --container sets both.
 * Each event carries the cgroup id, so ecli names the container from it. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct open_event {
	__u32 pid;
	__u64 cgroup_id;
	char comm[16];
	char fname[64];
};

/// Only events from the cgroup in cgroup_map
const volatile bool filter_cg = false;

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct open_event *event;

	if (filter_cg && !bpf_current_task_under_cgroup(&cgroup_map, 0))
		return 0;
	event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event)
		return 0;
	event->pid = bpf_get_current_pid_tgid() >> 32;
	event->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	bpf_probe_read_user_str(event->fname, sizeof(event->fname), (const char *)ctx->args[1]);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
