// SPDX-License-Identifier: GPL-2.0
/* A perf_event program whose annotation chooses the sampling: 99 Hz of
 * cpu-clock unless the command line says otherwise. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 samples = 0;

/// Count every sample.
/// @perf {"event": "cpu-clock", "frequency": 99}
SEC("perf_event")
int sample_99(struct bpf_perf_event_data *ctx)
{
	__sync_fetch_and_add(&samples, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
