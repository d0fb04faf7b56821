// SPDX-License-Identifier: GPL-2.0
/* The lines bash reads, in the libbpf-tools style: the section names the
 * function only, user space says which bash (readline may live in bash
 * itself or in libreadline). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_LINE_SIZE 80

struct line_event {
	__u32 pid;
	char line[MAX_LINE_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("uretprobe/readline")
int BPF_URETPROBE(readline_ret, const void *ret)
{
	struct line_event event = {};

	if (!ret)
		return 0;
	event.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_probe_read_user_str(event.line, sizeof(event.line), ret);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
