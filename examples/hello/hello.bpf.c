/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The seed's hello, corrected: pid_filter is `const volatile` so that clang
 * keeps reading it and `--pid_filter` really filters. */
#define BPF_NO_GLOBAL_DATA
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

typedef unsigned int u32;
typedef int pid_t;

/// Only report writes from this process (0: every process)
const volatile pid_t pid_filter = 0;

/// @brief Print the PID of every process that calls write(2)
/// @details A tracepoint on syscalls/sys_enter_write reports through bpf_printk.
/// @version 1.0
char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    if (pid_filter && pid != pid_filter)
        return 0;
    bpf_printk("BPF triggered from PID %d.\n", pid);
    return 0;
}
