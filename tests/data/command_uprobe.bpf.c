// SPDX-License-Identifier: GPL-2.0
/* A uprobe whose SEC() names a function but no binary: with -c it goes to
 * the command's program. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 calls = 0;

SEC("uprobe/work")
int BPF_UPROBE(on_work)
{
	__sync_fetch_and_add(&calls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
