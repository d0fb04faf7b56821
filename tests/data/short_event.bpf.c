// Test program: sends 4 bytes of a 16-byte struct, twice per getppid().
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct wide_event {
    int first;
    int second;
    __u64 third;
};

const volatile pid_t target = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int short_send(void *ctx)
{
    struct wide_event e = {.first = 42, .second = 7, .third = 9};

    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    bpf_ringbuf_output(&events, &e, 4, 0);
    bpf_ringbuf_output(&events, &e, 4, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
