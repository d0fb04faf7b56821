// Test program in eunomia's form: the event struct comes from a header given to ecc.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "hdr_event.h"

const volatile pid_t target = 0;

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int send(void *ctx)
{
    struct hdr_event e = {};

    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    e.pid = target;
    bpf_get_current_comm(e.comm, sizeof(e.comm));
    /* Through void * on purpose: the type is only known from the header. */
    void *data = &e;
    bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, data, sizeof(e));
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
