// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2020 Wenbo Zhang
/* libbpf-tools' hardirqs as a kernel half alone, with no annotations: time
 * spent in each hard interrupt handler, and how often each ran, in two
 * global arrays indexed by IRQ number. The programs only add to them, so
 * ecc makes them results and ecli prints them at exit (and every -i
 * SECONDS), one row per IRQ that ran; IRQs that never ran are left out.
 * The handler's entry time per CPU is state (written and read), not
 * printed. Names of the IRQs are in /proc/interrupts. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

#define MAX_IRQS 256
#define MAX_CPUS 512

/* Options: */
const volatile bool targ_count = false; /* count only, do not time */
const volatile int targ_irq = -1;       /* only this IRQ (-1: every IRQ) */

__u64 irq_time_ns[MAX_IRQS] = {};
__u64 irq_count[MAX_IRQS] = {};

__u64 start[MAX_CPUS] = {};

SEC("tracepoint/irq/irq_handler_entry")
int handle_entry(struct trace_event_raw_irq_handler_entry *ctx)
{
    __u32 cpu = bpf_get_smp_processor_id();
    int irq = ctx->irq;

    if (irq < 0 || irq >= MAX_IRQS || (targ_irq >= 0 && irq != targ_irq))
        return 0;
    __sync_fetch_and_add(&irq_count[irq], 1);
    if (!targ_count && cpu < MAX_CPUS)
        start[cpu] = bpf_ktime_get_ns();
    return 0;
}

SEC("tracepoint/irq/irq_handler_exit")
int handle_exit(struct trace_event_raw_irq_handler_exit *ctx)
{
    __u32 cpu = bpf_get_smp_processor_id();
    int irq = ctx->irq;
    __u64 ts;

    if (targ_count || cpu >= MAX_CPUS || irq < 0 || irq >= MAX_IRQS)
        return 0;
    ts = start[cpu];
    if (!ts)
        return 0;
    start[cpu] = 0;
    __sync_fetch_and_add(&irq_time_ns[irq], bpf_ktime_get_ns() - ts);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
