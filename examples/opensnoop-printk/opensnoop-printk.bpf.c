// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2019 Facebook
// Copyright (c) 2020 Netflix
/* The seed's open tracer, corrected: the filter compares the process id (the
 * upper half of pid_tgid; the seed compared the thread id) and the programs
 * return 0, and it needs no header of its own. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

/// Process ID to trace (0: every process)
const volatile int pid_target = 0;

static int trace_open(const char *syscall)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;

    if (pid_target && pid_target != pid)
        return 0;
    bpf_printk("Process ID: %d enter sys %s\n", pid, syscall);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
    return trace_open("open");
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
    return trace_open("openat");
}

/// @brief Trace open family syscalls.
char LICENSE[] SEC("license") = "GPL";
